/**
 * The public endpoints' token bucket on a clock of the test's own: a full bucket lets a burst
 * through, tokens come back at the configured rate, Retry-After says when, clients are counted
 * apart, memory stays bounded, and 0 turns the limit off. No server involved.
 */
import type { Request, Response } from 'express';
import { rateLimit } from '../api/rate-limit';
import type { Problem } from '../api/problem';

function harness(options: { perMinute: number; maxClients?: number }) {
  let now = 1_000_000;
  const limit = rateLimit({ ...options, now: () => now });
  return {
    advance: (ms: number) => (now += ms),
    /** One request from `ip`: undefined when let through, else the refusal and its Retry-After. */
    ask(ip: string) {
      const headers: Record<string, string> = {};
      const res = { set: (name: string, value: string) => ((headers[name] = value), res) };
      let outcome: unknown = 'not called';
      void limit({ ip } as Request, res as unknown as Response, (error?: unknown) => (outcome = error));
      return outcome === undefined
        ? undefined
        : { code: (outcome as Problem).code, retryAfter: Number(headers['Retry-After']) };
    },
  };
}

test('a burst up to the limit passes, the next is refused until a token is back', () => {
  const h = harness({ perMinute: 6 }); // a token every 10 s
  for (let i = 0; i < 6; i += 1) expect(h.ask('198.51.100.7')).toBeUndefined();
  expect(h.ask('198.51.100.7')).toEqual({ code: 'RATE_LIMITED', retryAfter: 10 });
  h.advance(4_000);
  expect(h.ask('198.51.100.7')).toEqual({ code: 'RATE_LIMITED', retryAfter: 6 });
  h.advance(6_000);
  expect(h.ask('198.51.100.7')).toBeUndefined();
  expect(h.ask('198.51.100.7')?.code).toBe('RATE_LIMITED');
  // A quiet minute fills the bucket again, never beyond the limit.
  h.advance(10 * 60_000);
  for (let i = 0; i < 6; i += 1) expect(h.ask('198.51.100.7')).toBeUndefined();
  expect(h.ask('198.51.100.7')?.code).toBe('RATE_LIMITED');
});

test('each client address has a bucket of its own', () => {
  const h = harness({ perMinute: 1 });
  expect(h.ask('198.51.100.1')).toBeUndefined();
  expect(h.ask('198.51.100.1')).toEqual({ code: 'RATE_LIMITED', retryAfter: 60 });
  expect(h.ask('198.51.100.2')).toBeUndefined();
});

test('only the most recently seen clients are remembered; 0 turns the limit off', () => {
  const h = harness({ perMinute: 1, maxClients: 2 });
  expect(h.ask('a')).toBeUndefined();
  expect(h.ask('b')).toBeUndefined();
  expect(h.ask('c')).toBeUndefined(); // forgets a, the least recently seen
  expect(h.ask('c')?.code).toBe('RATE_LIMITED');
  expect(h.ask('a')).toBeUndefined();
  const off = harness({ perMinute: 0 });
  for (let i = 0; i < 1000; i += 1) expect(off.ask('a')).toBeUndefined();
});
