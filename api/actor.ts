import type { RequestHandler } from 'express';
import { Actor } from '../domain/pilot';
import { fieldProblems, Problem } from './problem';

declare module 'express-serve-static-core' {
  interface Request {
    actor: Actor;
  }
}

/**
 * Who is acting, from X-Actor-Id / X-Actor-Role (default: the office's staff desk). Every decision
 * carries it into history and the audit table. Bearer-token roles (issue 4) replace these headers.
 */
export const actorFromHeaders: RequestHandler = (req, _res, next) => {
  const parsed = Actor.safeParse({
    id: req.get('x-actor-id') ?? 'staff-desk',
    role: req.get('x-actor-role') ?? 'staff',
  });
  if (!parsed.success) return next(new Problem('VALIDATION_FAILED', 'actor headers', fieldProblems(parsed.error)));
  req.actor = parsed.data;
  next();
};
