/**
 * Tokens for a Temporal server that checks JWTs (its default claim mapper and authorizer): an
 * OAuth client-credentials token from the identity provider's token endpoint, handed to the
 * connection as its API key (sent as `Authorization: Bearer`) and renewed before it expires.
 * Configuration only, from the environment:
 *
 *   TEMPORAL_OAUTH_TOKEN_URL        the token endpoint (https; http only to this machine)
 *   TEMPORAL_OAUTH_CLIENT_ID        the service account
 *   TEMPORAL_OAUTH_CLIENT_SECRET    its secret, or TEMPORAL_OAUTH_CLIENT_SECRET_FILE (read at every
 *                                   request, so a rotated file is picked up)
 *   TEMPORAL_OAUTH_RESOURCE         optional: the resource indicator (RFC 8707) to ask for
 *   TEMPORAL_OAUTH_SCOPE            optional: the scope to ask for
 *
 * None set: no tokens, connections are made as before (TEMPORAL_API_KEY or no credentials).
 */
import fs from 'node:fs';
import { z } from 'zod';
import { createLogger, type Logger } from './logger';

const OAUTH_ENV = [
  'TEMPORAL_OAUTH_TOKEN_URL',
  'TEMPORAL_OAUTH_CLIENT_ID',
  'TEMPORAL_OAUTH_CLIENT_SECRET',
  'TEMPORAL_OAUTH_CLIENT_SECRET_FILE',
  'TEMPORAL_OAUTH_RESOURCE',
  'TEMPORAL_OAUTH_SCOPE',
] as const;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** The client secret travels to this address: in the clear only if it never leaves the machine. */
const secretSafeUrl = (text: string) => {
  const url = new URL(text);
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
};

const TemporalOAuthEnv = z
  .object({
    TEMPORAL_OAUTH_TOKEN_URL: z.url().refine(secretSafeUrl, 'https, or http to this machine only'),
    TEMPORAL_OAUTH_CLIENT_ID: z.string().min(1),
    TEMPORAL_OAUTH_CLIENT_SECRET: z.string().min(1).optional(),
    TEMPORAL_OAUTH_CLIENT_SECRET_FILE: z.string().min(1).optional(),
    TEMPORAL_OAUTH_RESOURCE: z.url().optional(),
    TEMPORAL_OAUTH_SCOPE: z.string().min(1).optional(),
  })
  .refine(
    (env) => (env.TEMPORAL_OAUTH_CLIENT_SECRET === undefined) !== (env.TEMPORAL_OAUTH_CLIENT_SECRET_FILE === undefined),
    {
      message: 'one of TEMPORAL_OAUTH_CLIENT_SECRET and TEMPORAL_OAUTH_CLIENT_SECRET_FILE',
      // Checked even when other settings are wrong too, so one error names everything to fix.
      when: () => true,
    },
  )
  .transform((env) => ({
    tokenUrl: env.TEMPORAL_OAUTH_TOKEN_URL,
    clientId: env.TEMPORAL_OAUTH_CLIENT_ID,
    clientSecret: env.TEMPORAL_OAUTH_CLIENT_SECRET,
    clientSecretFile: env.TEMPORAL_OAUTH_CLIENT_SECRET_FILE,
    resource: env.TEMPORAL_OAUTH_RESOURCE,
    scope: env.TEMPORAL_OAUTH_SCOPE,
  }));
export type TemporalOAuthSettings = z.output<typeof TemporalOAuthEnv>;
/** One token request: the settings, or a client named directly (a launcher with the secret in hand). */
export type TemporalTokenRequest = Pick<TemporalOAuthSettings, 'tokenUrl' | 'clientId'> &
  Partial<Omit<TemporalOAuthSettings, 'tokenUrl' | 'clientId'>>;

/**
 * The OAuth settings of the environment, or null when none of them is set. Empty values count as
 * unset, as everywhere in the environment. Errors name the settings, never their values.
 */
export function loadTemporalOAuthSettings(env: NodeJS.ProcessEnv = process.env): TemporalOAuthSettings | null {
  const given = Object.fromEntries(OAUTH_ENV.flatMap((name) => (env[name] ? [[name, env[name]]] : [])));
  if (Object.keys(given).length === 0) return null;
  const parsed = TemporalOAuthEnv.safeParse(given);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
    throw new Error(`Temporal OAuth settings (TEMPORAL_OAUTH_*) are invalid: ${issues.join('; ')}`);
  }
  return parsed.data;
}

function clientSecret(settings: TemporalTokenRequest): string {
  if (settings.clientSecret !== undefined) return settings.clientSecret;
  if (settings.clientSecretFile === undefined) throw new Error(`no client secret for ${settings.clientId}`);
  const secret = fs.readFileSync(settings.clientSecretFile, 'utf8').replace(/\r?\n$/, '');
  if (!secret) throw new Error(`TEMPORAL_OAUTH_CLIENT_SECRET_FILE (${settings.clientSecretFile}) is empty`);
  return secret;
}

/** A successful token response (RFC 6749 §5.1); what else it holds is not needed. */
const TokenResponse = z.object({
  access_token: z.string().min(1),
  token_type: z.string().regex(/^bearer$/i, 'a Bearer token'),
  // Renewal is timed by it, so it is required; some issuers send it as a numeric string.
  expires_in: z.coerce.number().int().positive(),
});
/** A refusal (RFC 6749 §5.2): its code and description name the problem, not the secret. */
const TokenError = z.object({ error: z.string().max(100), error_description: z.string().max(300).optional() });

export interface TemporalToken {
  accessToken: string;
  expiresInSeconds: number;
  /** Epoch ms, counted from when it was asked for (so never later than the issuer's). */
  expiresAt: number;
}

/** The token endpoint without anything a URL could hide in userinfo or query, for messages. */
const endpointName = (tokenUrl: string) => {
  const url = new URL(tokenUrl);
  return `${url.origin}${url.pathname}`;
};

/** An error's message with its cause (fetch says only "fetch failed"; the cause says why). */
const reason = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  const code = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : undefined;
  return code ? `${error.message} (${code})` : error.message;
};

/** One client-credentials request, the client authenticated by HTTP Basic (client_secret_basic). */
export async function requestTemporalToken(settings: TemporalTokenRequest, timeoutMs = 10_000): Promise<TemporalToken> {
  const where = endpointName(settings.tokenUrl);
  // RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
  const basic = Buffer.from(
    `${encodeURIComponent(settings.clientId)}:${encodeURIComponent(clientSecret(settings))}`,
  ).toString('base64');
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (settings.resource) body.set('resource', settings.resource);
  if (settings.scope) body.set('scope', settings.scope);
  const askedAt = Date.now();
  let response: Response;
  try {
    response = await fetch(settings.tokenUrl, {
      method: 'POST',
      headers: {
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: body.toString(),
      // A redirect would carry the secret on to wherever it points.
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new Error(`token endpoint ${where} not reachable: ${reason(error)}`, { cause: error });
  }
  const json: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const refusal = TokenError.safeParse(json);
    const detail = refusal.success
      ? ` ${refusal.data.error}${refusal.data.error_description ? ` (${refusal.data.error_description})` : ''}`
      : '';
    throw new Error(`token endpoint ${where} answered ${response.status}${detail}`);
  }
  const parsed = TokenResponse.safeParse(json);
  if (!parsed.success) {
    // Paths and messages only: zod's messages do not quote the values, the token among them.
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
    throw new Error(`token endpoint ${where} gave no usable token: ${issues.join('; ')}`);
  }
  return {
    accessToken: parsed.data.access_token,
    expiresInSeconds: parsed.data.expires_in,
    expiresAt: askedAt + parsed.data.expires_in * 1000,
  };
}

/** The longest delay setTimeout keeps (about 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * A renewal at 80% of the lifetime leaves a fifth for retries, before the token expires however
 * short its life (at least 1 s apart, so a broken issuer is not hammered), and never later than a
 * timer can wait.
 */
export const renewalDelayMs = (expiresInSeconds: number) =>
  Math.min(MAX_TIMER_MS, Math.max(1_000, Math.round(expiresInSeconds * 800)));
/** Until the token's renewal, counted from when it was asked for (the answer's wait is gone from its life). */
const renewalDueIn = (token: TemporalToken) =>
  Math.max(0, token.expiresAt - token.expiresInSeconds * 1000 + renewalDelayMs(token.expiresInSeconds) - Date.now());
/** After the nth failure in a row: 1 s, doubling, at most 30 s. */
export const retryDelayMs = (failures: number) => Math.min(30_000, 1_000 * 2 ** Math.max(0, failures - 1));

/** What takes the renewed tokens: the client `Connection` and the worker's `NativeConnection`. */
export interface ApiKeySink {
  setApiKey(token: string): void | Promise<void>;
}

export interface TemporalTokenSource {
  /** The token held now. */
  current(): string;
  /** Hands the token held now to the sink at once (it may have been renewed meanwhile), and every renewal after. */
  attach(sink: ApiKeySink): void;
  /** When the next renewal (or retry) is due, in epoch ms; null once stopped. */
  nextRenewalAt(): number | null;
  /** No more renewals: the timer is cleared, an answer still on its way is dropped. Idempotent. */
  stop(): void;
}

type TokenLogger = Pick<Logger, 'info' | 'warn'>;

/**
 * Fetches the first token (a failure is the caller's startup error) and keeps it fresh: renewed
 * at 80% of its lifetime and handed to every attached sink; a failed renewal is logged and
 * retried with backoff while the held token is still used. Timers are unref'd, so a source that is
 * never stopped does not hold the process open; stop it when its connection closes anyway.
 */
export async function startTemporalTokenSource(
  settings: TemporalOAuthSettings,
  options: { logger?: TokenLogger; fetchTimeoutMs?: number } = {},
): Promise<TemporalTokenSource> {
  const log = options.logger ?? createLogger('temporal-token');
  const { clientId } = settings;
  let held: TemporalToken;
  try {
    held = await requestTemporalToken(settings, options.fetchTimeoutMs);
  } catch (error) {
    throw new Error(`no Temporal token for ${clientId}: ${reason(error)}`, { cause: error });
  }
  const sinks = new Set<ApiKeySink>();
  let timer: NodeJS.Timeout | null = null;
  let dueAt: number | null = null;
  let stopped = false;
  let failures = 0;

  const hand = (sink: ApiKeySink, token: string) => {
    Promise.resolve()
      .then(() => sink.setApiKey(token))
      .catch((error: unknown) =>
        log.warn({ clientId, error: reason(error) }, 'could not hand the Temporal token to a connection'),
      );
  };
  const schedule = (delayMs: number) => {
    dueAt = Date.now() + delayMs;
    timer = setTimeout(() => void renew(), delayMs);
    timer.unref();
  };
  const renew = async () => {
    timer = null;
    try {
      const next = await requestTemporalToken(settings, options.fetchTimeoutMs);
      if (stopped) return;
      held = next;
      failures = 0;
      for (const sink of sinks) hand(sink, next.accessToken);
      const delayMs = renewalDueIn(next);
      log.info(
        { clientId, expiresInSeconds: next.expiresInSeconds, nextRenewalInMs: delayMs },
        'Temporal token renewed',
      );
      schedule(delayMs);
    } catch (error) {
      if (stopped) return;
      failures += 1;
      const delayMs = retryDelayMs(failures);
      log.warn(
        {
          clientId,
          attempt: failures,
          retryInMs: delayMs,
          // Once it has expired, calls to Temporal are refused until a renewal succeeds.
          heldTokenExpired: Date.now() >= held.expiresAt,
          error: reason(error),
        },
        'Temporal token renewal failed; retrying',
      );
      schedule(delayMs);
    }
  };
  schedule(renewalDueIn(held));

  return {
    current: () => held.accessToken,
    attach(sink) {
      if (stopped) return;
      sinks.add(sink);
      hand(sink, held.accessToken);
    },
    nextRenewalAt: () => (stopped ? null : dueAt),
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      dueAt = null;
      sinks.clear();
    },
  };
}
