import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { bilingual } from '../../domain/errors';
import type { Refusal } from '../../domain/staff-actions';

/** A refusal as the failure an Update answers with; the API turns its type into an HTTP status. */
export function refusalFailure({ code, detail }: Refusal): ApplicationFailure {
  return ApplicationFailure.create({
    type: code,
    message: bilingual(code, detail),
    details: detail === undefined ? [] : [detail],
    nonRetryable: true,
  });
}

/**
 * A ledger write that found the ledger disagreeing (LEDGER_MISMATCH, non-retryable) refuses the
 * staff action that asked for it, with the ledger's account; the workflow itself goes on.
 */
export function asLedgerRefusal(error: unknown): unknown {
  if (
    error instanceof ActivityFailure &&
    error.cause instanceof ApplicationFailure &&
    error.cause.type === 'LEDGER_MISMATCH'
  ) {
    return refusalFailure({ code: 'LEDGER_MISMATCH', detail: error.cause.message });
  }
  return error;
}
