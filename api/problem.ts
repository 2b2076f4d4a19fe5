import type { ErrorRequestHandler, Response } from 'express';
import { ZodError } from 'zod';
import { refusals, type RefusalCode } from '../domain/errors';
import type { Logger } from '../lib/logger';
import { isDatabaseUnavailable } from './db-errors';

const STATUS: Record<RefusalCode, number> = {
  VALIDATION_FAILED: 422,
  MALFORMED_JSON: 400,
  MALFORMED_REQUEST: 400,
  JSON_TOO_DEEP: 400,
  NOT_FOUND: 404,
  CALL_NOT_FOUND: 404,
  CALL_ALREADY_EXISTS: 409,
  PILOT_NOT_FOUND: 404,
  PILOT_ALREADY_REGISTERED: 409,
  REGISTRATION_CLOSED: 422,
  SUBMISSION_DEADLINE_PASSED: 422,
  ALREADY_SUBMITTED: 409,
  NOT_YET_SUBMITTED: 409,
  ALREADY_DECIDED: 409,
  WRONG_PHASE: 409,
  AMOUNT_OUT_OF_RANGE: 422,
  EXPERT_CONFLICT_OF_INTEREST: 422,
  EXPERT_ALREADY_SCORED: 409,
  NOT_ENOUGH_EXPERT_SCORES: 409,
  NOT_IN_PUBLIC_NOTICE: 409,
  TRANCHE_NOT_ISSUED: 409,
  TRANCHE_ALREADY_CONFIRMED: 409,
  TRANCHE_VOIDED: 409,
  PILOT_STILL_RUNNING: 409,
  TRANCHE_BUSY: 409,
  LEDGER_MISMATCH: 409,
  RECLAIM_NOT_OPEN: 409,
  RECLAIM_ALREADY_CLOSED: 409,
  NOTHING_TO_EXTEND: 409,
  EXTENSION_NOT_LATER: 422,
  NOT_CLOSED: 409,
  PDF_REQUIRED: 422,
  PDF_NOT_PDF: 422,
  PDF_WRONG_NAME: 422,
  SUBMISSION_LATE: 422,
  ENTRY_PERIOD_ENDED: 422,
  RECEIVED_IN_FUTURE: 422,
  RECEIVED_NOT_FOUND: 404,
  RECEIVED_ALREADY_ATTACHED: 409,
  RECEIVED_WITHOUT_PDF: 422,
  UNIT_INTEGRITY_RECORD: 409,
  APPLICANT_NOT_PROVINCIAL_ASSOCIATION: 422,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  IDEMPOTENCY_KEY_REQUIRED: 428,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PILOT_ENDED: 409,
  TEMPORAL_UNAVAILABLE: 503,
  DATABASE_UNAVAILABLE: 503,
  IDENTITY_UNAVAILABLE: 503,
  INTERNAL: 500,
  RATE_LIMITED: 429,
  INTAKE_NOT_CONFIGURED: 409,
  INTAKE_ENDED: 409,
};

/** Seconds a client waits before repeating a request a dependency outage refused. */
export const RETRY_AFTER_SECONDS = 2;

export interface FieldProblem {
  path: string;
  code: string;
  message: string;
}

/** A refusal the API answers with; thrown anywhere in a handler. */
export class Problem extends Error {
  constructor(
    readonly code: RefusalCode,
    readonly detail?: string,
    readonly errors?: FieldProblem[],
  ) {
    super(`${code}${detail ? `: ${detail}` : ''}`);
  }
}

/** The HTTP status a refusal is answered with. */
export function statusOf(code: RefusalCode): number {
  return STATUS[code];
}

export function fieldProblems(error: ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    code: issue.code,
    message: issue.message,
  }));
}

/** RFC 9457 problem details, with the message in Chinese and English. */
export function sendProblem(res: Response, problem: Problem): void {
  const status = STATUS[problem.code];
  if (status === 401) res.set('WWW-Authenticate', 'Bearer');
  // A dependency is away: say when to come back (RFC 9110 §10.2.3), soon enough to catch its return.
  if (status === 503) res.set('Retry-After', String(RETRY_AFTER_SECONDS));
  const { zh, en } = refusals[problem.code];
  res
    .status(status)
    .type('application/problem+json')
    .json({
      type: `urn:reform-pilots:problem:${problem.code}`,
      title: en,
      status,
      code: problem.code,
      message: zh,
      messageEn: en,
      ...(problem.detail ? { detail: problem.detail } : {}),
      ...(problem.errors ? { errors: problem.errors } : {}),
    });
}

export function problemHandler(log: Logger): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) return next(error);
    if (error instanceof Problem) return sendProblem(res, error);
    if (error instanceof ZodError)
      return sendProblem(res, new Problem('VALIDATION_FAILED', undefined, fieldProblems(error)));
    const { status, type } = error as { status?: number; type?: string };
    if (type === 'entity.parse.failed') return sendProblem(res, new Problem('MALFORMED_JSON'));
    if (status === 413) return sendProblem(res, new Problem('PAYLOAD_TOO_LARGE'));
    if (status === 415) return sendProblem(res, new Problem('UNSUPPORTED_MEDIA_TYPE'));
    // Anything else the HTTP layer rejects (bad %-encoding, broken multipart, unknown encodings)
    // is the client's mistake, not ours.
    if ((typeof status === 'number' && status >= 400 && status < 500) || error instanceof URIError) {
      return sendProblem(res, new Problem('MALFORMED_REQUEST'));
    }
    if (isDatabaseUnavailable(error)) {
      log.warn({ err: error }, 'database unavailable');
      return sendProblem(res, new Problem('DATABASE_UNAVAILABLE'));
    }
    log.error({ err: error }, 'unhandled error');
    return sendProblem(res, new Problem('INTERNAL'));
  };
}
