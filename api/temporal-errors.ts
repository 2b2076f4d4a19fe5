import {
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { isRefusalCode } from '../domain/errors';
import { Problem } from './problem';

/** Turns what Temporal says into the refusal a clerk understands, or rethrows. */
export function problemFromTemporal(error: unknown): Problem | null {
  if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
    const { type, details } = error.cause;
    const [detail] = details ?? [];
    if (isRefusalCode(type)) return new Problem(type, typeof detail === 'string' ? detail : undefined);
  }
  if (error instanceof WorkflowExecutionAlreadyStartedError) return new Problem('PILOT_ALREADY_REGISTERED');
  if (error instanceof WorkflowNotFoundError) return new Problem('PILOT_NOT_FOUND');
  if (error instanceof ServiceError) {
    // gRPC status codes: NOT_FOUND 5; INVALID_ARGUMENT 3 (e.g. an id too long for Temporal).
    const code = (error.cause as { code?: number } | undefined)?.code;
    if (code === 5) return new Problem('PILOT_NOT_FOUND');
    if (code === 3) return new Problem('VALIDATION_FAILED', error.message);
    return new Problem('TEMPORAL_UNAVAILABLE');
  }
  return null;
}
