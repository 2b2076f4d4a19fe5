import type { RequestHandler } from 'express';
import { Problem } from './problem';

export interface RateLimitOptions {
  /** Requests a client may make per minute, and at once after a quiet minute; 0 turns the limit off. */
  perMinute: number;
  /** Clients remembered at most: the least recently seen are forgotten first (memory stays bounded). */
  maxClients?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per client address, in this process's memory: the public endpoints answer anyone,
 * and one client must not be able to keep the database busy for everyone. No dependency and no
 * shared store: with several API processes each limits on its own, which is enough to blunt a
 * scraper. The address is Express's `req.ip`, i.e. the peer's unless `trust proxy` is set.
 * Refused with 429 RATE_LIMITED and Retry-After, the seconds until a token is back.
 */
export function rateLimit({ perMinute, maxClients = 10_000, now = Date.now }: RateLimitOptions): RequestHandler {
  if (perMinute <= 0) return (_req, _res, next) => next();
  const perMs = perMinute / 60_000;
  const buckets = new Map<string, Bucket>();
  return (req, res, next) => {
    const client = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const t = now();
    const last = buckets.get(client);
    const tokens = last ? Math.min(perMinute, last.tokens + (t - last.at) * perMs) : perMinute;
    // Deleted and set again, so the map's order is by last request: the oldest go first when full.
    buckets.delete(client);
    if (tokens < 1) {
      buckets.set(client, { tokens, at: t });
      res.set('Retry-After', String(Math.max(1, Math.ceil((1 - tokens) / perMs / 1000))));
      res.set('Cache-Control', 'no-store');
      return next(new Problem('RATE_LIMITED', `at most ${perMinute} requests per minute`));
    }
    buckets.set(client, { tokens: tokens - 1, at: t });
    while (buckets.size > maxClients) buckets.delete(buckets.keys().next().value!);
    next();
  };
}
