/**
 * Sign-on for people: the API accepts access tokens (JWT) from an OpenID Connect issuer — the
 * development identity provider the stack runs, or any issuer in production — checked against the
 * issuer's published keys (JWKS): signature, issuer, audience, expiry with a little clock skew.
 * The role comes from a claim, mapped onto the product's roles. Static bearer tokens remain for
 * service accounts and scripts (auth.ts).
 */
import type { JWTPayload } from 'jose';
import { loadJose } from '../lib/identity/esm';
import { z } from 'zod';
import { Role, type Actor } from '../domain/pilot';
import { Problem } from './problem';

export const OidcSettings = z.object({
  OIDC_ISSUER_URL: z.url(),
  /** The audience the API's access tokens are issued for (the resource indicator). */
  OIDC_AUDIENCE: z.string().min(1).default('reform-pilots-api'),
  /** The claim that carries the user's roles (a string or an array of strings). */
  OIDC_ROLE_CLAIM: z.string().min(1).default('roles'),
  /** JSON: the issuer's role names → the product's roles; unset, names are taken as they are. */
  OIDC_ROLE_MAP: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (!text) return null;
      const parsed = z.record(z.string(), Role).safeParse(JSON.parse(text));
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: 'OIDC_ROLE_MAP: a JSON object of role names to product roles' });
        return z.NEVER;
      }
      return parsed.data;
    }),
  OIDC_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
});
export type OidcSettings = z.output<typeof OidcSettings>;

/** The OIDC settings of the environment, or null when the API takes static tokens only. */
export function loadOidcSettings(env: NodeJS.ProcessEnv = process.env): OidcSettings | null {
  if (!env.OIDC_ISSUER_URL) return null;
  return OidcSettings.parse(env);
}

/** What every JWS looks like: three base64url parts. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** Asymmetric algorithms only: "none" and shared-secret HMAC are never accepted. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export type TokenVerifier = (token: string) => Promise<Actor | null>;

/**
 * Verifies a presented token as the issuer's JWT: an Actor, null when it is not a valid token
 * for this API (401), or a 503 Problem when the issuer's keys cannot be fetched.
 */
export function oidcVerifier(settings: OidcSettings, fetchTimeoutMs = 3000): TokenVerifier {
  const { createRemoteJWKSet, jwtVerify } = loadJose();
  const issuer = settings.OIDC_ISSUER_URL.replace(/\/$/, '');
  type Keys = ReturnType<typeof createRemoteJWKSet>;
  let keys: Keys | null = null;
  let discovering: Promise<Keys> | null = null;
  const jwks = () => {
    if (keys) return Promise.resolve(keys);
    // The keys' address comes from the issuer's discovery document, fetched once.
    discovering ??= (async () => {
      const response = await fetch(`${issuer}/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(fetchTimeoutMs),
      });
      if (!response.ok) throw new Error(`discovery: HTTP ${response.status}`);
      const { jwks_uri } = z.object({ jwks_uri: z.url() }).parse(await response.json());
      keys = createRemoteJWKSet(new URL(jwks_uri), { timeoutDuration: fetchTimeoutMs, cooldownDuration: 30_000 });
      return keys;
    })().finally(() => {
      discovering = null;
    });
    return discovering;
  };

  return async (token) => {
    if (!COMPACT_JWS.test(token)) return null;
    let payload: JWTPayload;
    try {
      const { payload: verified } = await jwtVerify(token, await jwks(), {
        issuer: [issuer, `${issuer}/`],
        audience: settings.OIDC_AUDIENCE,
        algorithms: ALGORITHMS,
        clockTolerance: settings.OIDC_CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'sub'],
      });
      payload = verified;
    } catch (error) {
      if (unreachable(error)) throw new Problem('IDENTITY_UNAVAILABLE');
      return null;
    }
    const role = roleOf(payload[settings.OIDC_ROLE_CLAIM], settings.OIDC_ROLE_MAP);
    if (!role) return null;
    const user = typeof payload.preferred_username === 'string' ? payload.preferred_username : payload.sub!;
    return { id: user.slice(0, 100), role };
  };
}

/** The first of the token's roles that names one of the product's roles. */
function roleOf(claim: unknown, map: Record<string, Role> | null): Role | null {
  const names = typeof claim === 'string' ? [claim] : Array.isArray(claim) ? claim : [];
  for (const name of names) {
    if (typeof name !== 'string') continue;
    const role = map ? map[name] : Role.safeParse(name).data;
    if (role) return role;
  }
  return null;
}

/** The issuer's keys could not be had (network, timeout, its server down): not the token's fault. */
function unreachable(error: unknown): boolean {
  const { errors } = loadJose();
  // jose's own verdicts are about the token, but for a timeout fetching the keys; anything else
  // (the discovery or key fetch refused, a document that is not one) is about the issuer.
  if (error instanceof errors.JOSEError) return error instanceof errors.JWKSTimeout;
  return true;
}
