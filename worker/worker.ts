import type { Duration, PayloadCodec } from '@temporalio/common';
import { dataConverterFor } from '../lib/temporal';
import { type NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';

export interface PilotWorkerOptions extends ActivityDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** A prebuilt bundle (tests bundle once per run); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkflowBundleOption;
  shutdownGraceTime?: Duration;
  /** Encrypts payloads; the API's client must use the same keys. */
  codec: PayloadCodec | null;
  /** Workflows kept in memory between tasks (WORKER_MAX_CACHED_WORKFLOWS); unset: the SDK's default for the heap. */
  maxCachedWorkflows?: number;
  /** Slots for workflow tasks, activities and local activities; unset: the SDK's defaults. */
  maxConcurrentWorkflowTaskExecutions?: number;
  maxConcurrentActivityTaskExecutions?: number;
  maxConcurrentLocalActivityExecutions?: number;
}

/** One task queue; any number of these workers can share it. */
export function createPilotWorker({
  connection,
  namespace,
  taskQueue,
  workflowBundle,
  shutdownGraceTime,
  codec,
  maxCachedWorkflows,
  maxConcurrentWorkflowTaskExecutions,
  maxConcurrentActivityTaskExecutions,
  maxConcurrentLocalActivityExecutions,
  ...deps
}: PilotWorkerOptions) {
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    activities: createActivities(deps),
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    shutdownGraceTime: shutdownGraceTime ?? '30s',
    dataConverter: dataConverterFor(codec),
    // Unset (undefined) leaves each at the SDK's default.
    maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions,
    maxConcurrentActivityTaskExecutions,
    maxConcurrentLocalActivityExecutions,
  });
}
