/**
 * The API's Prometheus metrics (`GET /metrics`, prom-client): the process's own (CPU, memory,
 * event loop, GC), every HTTP request by route template, and every call into Temporal by
 * operation and outcome. One registry per process, whatever number of apps it creates.
 *
 * Labels are bounded by construction: a route is Express's matched path (`/pilots/:pilotId`),
 * never the URL, so pilot ids, query strings and tokens never become label values.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Request, RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { Problem } from './problem';
import { problemFromTemporal } from './temporal-errors';

export const metricsRegistry = new Registry();

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];

const httpRequests = new Counter({
  name: 'http_requests_total',
  help: 'HTTP requests answered, by method, route template and status',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [metricsRegistry],
});

const httpDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'Time from a request’s arrival to the end of its answer, by method, route template and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [metricsRegistry],
});

/**
 * The calls the API makes into Temporal; names are fixed, never ids. `update` is a staff action's
 * Update up to its acceptance, `update_result` the wait for its result after it.
 */
export type TemporalOperation =
  'start' | 'describe' | 'query' | 'update' | 'update_result' | 'fetch_history' | 'system_info';

/**
 * ok: Temporal answered. refused: it answered with a refusal (not found, already started, a
 * validator's no). unavailable: no answer in time, or no connection. error: anything else.
 */
export type TemporalOutcome = 'ok' | 'refused' | 'unavailable' | 'error';

const temporalCalls = new Histogram({
  name: 'temporal_client_call_duration_seconds',
  help: 'Calls from the API into Temporal, by operation and outcome',
  labelNames: ['operation', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [metricsRegistry],
});

let defaultsCollected = false;
/** Process metrics (process_*, nodejs_*), once per process: a second collector would clash. */
function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: metricsRegistry });
}

/** What became of a call into Temporal that threw: raw SDK errors and the API's problems alike. */
export function temporalOutcome(error: unknown): TemporalOutcome {
  const problem = error instanceof Problem ? error : problemFromTemporal(error);
  if (!problem || problem.code === 'INTERNAL') return 'error';
  return problem.code === 'TEMPORAL_UNAVAILABLE' ? 'unavailable' : 'refused';
}

/**
 * Records one call into Temporal that began at `startedAtMs` (`Date.now()` taken just before it).
 * For calls `timeTemporal` cannot wrap.
 */
export function observeTemporalCall(operation: TemporalOperation, startedAtMs: number, outcome: TemporalOutcome): void {
  temporalCalls.observe({ operation, outcome }, Math.max(0, Date.now() - startedAtMs) / 1000);
}

/**
 * Runs one call into Temporal and records how long it took and how it ended; returns or throws
 * what `work` does, untouched.
 *
 *   await timeTemporal('query', () => handle.query(pilotStateQuery));
 */
export async function timeTemporal<T>(operation: TemporalOperation, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  let outcome: TemporalOutcome = 'ok';
  try {
    return await work();
  } catch (error) {
    outcome = temporalOutcome(error);
    throw error;
  } finally {
    temporalCalls.observe({ operation, outcome }, (performance.now() - started) / 1000);
  }
}

/**
 * The route a request matched, as its template (`/pilots/:pilotId/submission`); a response sent
 * before any route matched (unknown path, or a body refused before routing) is `unmatched`.
 * Routers are mounted at fixed paths only, so `baseUrl` carries no ids either.
 */
export function routeLabel(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `${req.baseUrl}${path}` : 'unmatched';
}

/** Counts and times every request once its answer is sent. First middleware of the app. */
export function httpMetrics(): RequestHandler {
  collectProcessMetrics();
  return (req, res, next) => {
    const started = performance.now();
    res.once('finish', () => {
      const labels = { method: req.method, route: routeLabel(req), status: String(res.statusCode) };
      httpRequests.inc(labels);
      httpDuration.observe(labels, (performance.now() - started) / 1000);
    });
    next();
  };
}

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

/**
 * `GET /metrics` in Prometheus' text format. With a token, only for `Authorization: Bearer
 * <token>` (compared in constant time; 401 otherwise); without one, open to whoever reaches the
 * API's address (API_HOST is 127.0.0.1 unless set otherwise).
 */
export function metricsEndpoint(token?: string): RequestHandler {
  collectProcessMetrics();
  const expected = token ? digest(token) : null;
  return async (req, res, next) => {
    if (expected) {
      const presented = /^Bearer +(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
      if (!presented || !timingSafeEqual(digest(presented), expected)) return next(new Problem('UNAUTHENTICATED'));
    }
    res.set('Content-Type', metricsRegistry.contentType).send(await metricsRegistry.metrics());
  };
}
