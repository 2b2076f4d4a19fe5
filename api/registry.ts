import type { RequestHandler, Router } from 'express';
import type { z } from 'zod';
import type { Role } from '../domain/pilot';
import { guard, type authenticator } from './auth';
import { Problem } from './problem';

declare module 'express-serve-static-core' {
  interface Request {
    idempotencyKey: string;
  }
}

/** One endpoint, described once: the router, the role checks and the OpenAPI document use this. */
export interface Endpoint {
  method: 'get' | 'post';
  /** Express path, e.g. /pilots/:pilotId/submission */
  path: string;
  /** Who may call it; "public" needs no token. */
  roles: readonly Role[] | 'public';
  /** "中文 / English" */
  summary: string;
  tag: string;
  body?: z.ZodType;
  /** multipart/form-data: a JSON field and one file */
  multipart?: { jsonField: string; schema: z.ZodType; fileField: string };
  query?: z.ZodType;
  produces?: 'application/json' | 'text/html' | 'text/csv';
  /** Writes need an Idempotency-Key; a repeat returns the first result and changes nothing. */
  write?: boolean;
  /** The staff action (its wire name, `domain/staff-actions.ts`) this route carries out. */
  staffAction?: string;
  /** Limited per client address (429 RATE_LIMITED): the public pages anyone may fetch. */
  rateLimited?: boolean;
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{8,100}$/;

const requireIdempotencyKey: RequestHandler = (req, _res, next) => {
  const key = req.get('idempotency-key');
  if (!key) return next(new Problem('IDEMPOTENCY_KEY_REQUIRED'));
  if (!IDEMPOTENCY_KEY.test(key)) {
    return next(new Problem('VALIDATION_FAILED', 'Idempotency-Key: 8–100 of A-Z a-z 0-9 . _ : -'));
  }
  req.idempotencyKey = key;
  next();
};

export class ApiRoutes {
  readonly endpoints: Endpoint[] = [];

  constructor(
    readonly router: Router,
    private readonly resolve: ReturnType<typeof authenticator>,
    /** The per-client limit of endpoints marked `rateLimited` (one budget shared by all of them). */
    private readonly limit: RequestHandler = (_req, _res, next) => next(),
  ) {}

  add(endpoint: Endpoint, ...handlers: RequestHandler[]): void {
    this.endpoints.push(endpoint);
    const checks: RequestHandler[] = [];
    // First: a refused request costs no token check and no database query.
    if (endpoint.rateLimited) checks.push(this.limit);
    if (endpoint.roles !== 'public') checks.push(guard(this.resolve, endpoint.roles));
    if (endpoint.write) checks.push(requireIdempotencyKey);
    this.router[endpoint.method](endpoint.path, ...checks, ...handlers);
  }
}

export { AUDIT, FINANCE, READERS, REVIEWERS, STAFF } from '../domain/staff-actions';
