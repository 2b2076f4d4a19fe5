import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { Role, type Actor } from '../domain/pilot';
import { readSecretJson } from '../lib/secrets';
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

/** Resolves the bearer token to an actor, comparing digests in constant time (never the token itself in logs). */
export function authenticator(tokens: TokenEntry[]) {
  const known = tokens.map((t) => ({ digest: digest(t.token), actor: { id: t.user, role: t.role } }));
  return (authorization: string | undefined): Actor | null => {
    const presented = /^Bearer +(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!presented) return null;
    const candidate = digest(presented);
    let found: Actor | null = null;
    for (const entry of known) {
      // Every entry is compared, so timing does not tell which one matched.
      if (timingSafeEqual(entry.digest, candidate)) found = entry.actor;
    }
    return found;
  };
}

/** 401 without a valid token, 403 for a role the endpoint does not name. */
export function guard(resolve: ReturnType<typeof authenticator>, roles: readonly Role[]): RequestHandler {
  return (req, _res, next) => {
    const actor = resolve(req.get('authorization'));
    if (!actor) return next(new Problem('UNAUTHENTICATED'));
    if (!roles.includes(actor.role)) return next(new Problem('FORBIDDEN', `allowed: ${roles.join(', ')}`));
    req.actor = actor;
    next();
  };
}
