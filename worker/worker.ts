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
}

/** One task queue; any number of these workers can share it. */
export function createPilotWorker({
  connection,
  namespace,
  taskQueue,
  workflowBundle,
  shutdownGraceTime,
  codec,
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
  });
}
