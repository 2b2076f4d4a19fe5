import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { Role, type Actor } from '../domain/pilot';
import { readSecretJson } from '../lib/secrets';
import type { TokenVerifier } from './oidc';
import { Problem } from './problem';

declare module 'express-serve-static-core' {
  interface Request {
    actor: Actor;
  }
}

export const TokenEntry = z.object({
  token: z.string().min(24, 'tokens must be at least 24 characters'),
  role: Role,
  user: z.string().trim().min(1).max(100),
});
export type TokenEntry = z.infer<typeof TokenEntry>;

/**
 * Bearer tokens configured by the operator: API_TOKENS (a JSON array of {token, role, user}) or
 * API_TOKENS_FILE (a path to such a file).
 */
export function loadTokens(env: NodeJS.ProcessEnv = process.env): TokenEntry[] {
  return readSecretJson(env, 'API_TOKENS', z.array(TokenEntry), 'API tokens') ?? [];
}

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

/**
 * Resolves the bearer token to an actor: a static token (compared by digest in constant time,
 * never the token itself in logs), else an access token from the identity provider, if one is
 * configured. null: no valid token (401).
 */
export function authenticator(tokens: TokenEntry[], verifyJwt?: TokenVerifier) {
  const known = tokens.map((t) => ({ digest: digest(t.token), actor: { id: t.user, role: t.role } }));
  return async (authorization: string | undefined): Promise<Actor | null> => {
    const presented = /^Bearer +(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!presented) return null;
    const candidate = digest(presented);
    let found: Actor | null = null;
    for (const entry of known) {
      // Every entry is compared, so timing does not tell which one matched.
      if (timingSafeEqual(entry.digest, candidate)) found = entry.actor;
    }
    if (found || !verifyJwt) return found;
    return verifyJwt(presented);
  };
}

/** 401 without a valid token, 403 for a role the endpoint does not name. */
export function guard(resolve: ReturnType<typeof authenticator>, roles: readonly Role[]): RequestHandler {
  return (req, _res, next) => {
    resolve(req.get('authorization')).then(
      (actor) => {
        if (!actor) return next(new Problem('UNAUTHENTICATED'));
        if (!roles.includes(actor.role)) return next(new Problem('FORBIDDEN', `allowed: ${roles.join(', ')}`));
        req.actor = actor;
        next();
      },
      (error: unknown) => next(error),
    );
  };
}
