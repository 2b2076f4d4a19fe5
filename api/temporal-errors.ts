import {
  isGrpcServiceError,
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
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
  // An Update's call ran out of time (our deadline) or was cancelled before Temporal answered.
  if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return new Problem('TEMPORAL_UNAVAILABLE');
  // Calls made on the connection's services directly throw gRPC errors, not ServiceErrors.
  const grpcCode = isGrpcServiceError(error)
    ? error.code
    : error instanceof ServiceError
      ? (error.cause as { code?: number } | undefined)?.code
      : undefined;
  if (error instanceof ServiceError || isGrpcServiceError(error)) {
    // gRPC status codes: NOT_FOUND 5; INVALID_ARGUMENT 3 (e.g. an id too long for Temporal);
    // anything else (UNAVAILABLE 14, DEADLINE_EXCEEDED 4 from our deadlines …) is Temporal away.
    if (grpcCode === 5) return new Problem('PILOT_NOT_FOUND');
    if (grpcCode === 3) return new Problem('VALIDATION_FAILED', error.message);
    return new Problem('TEMPORAL_UNAVAILABLE');
  }
  return null;
}
