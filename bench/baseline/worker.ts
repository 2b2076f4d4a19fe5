/**
 * The bare baseline's worker process, run beside the product's worker process so both pay the
 * same process costs. Configured by environment only:
 *   TEMPORAL_ADDRESS (and the product's other connection settings, tokens included: it connects
 *   as the product's worker does), TASK_QUEUE, BARE_WORKFLOW_BUNDLE (a prebuilt bundle; unset bundles at start),
 *   WORKER_MAX_CACHED_WORKFLOWS (unset: the SDK's default).
 * Prints `bare worker started` once polling; SIGINT/SIGTERM drain and exit 0.
 */
import { Runtime, Worker } from '@temporalio/worker';
import { connectWorkerConnection } from '../../lib/temporal';
import { bareActivities } from './activities';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  const warn = (message: string) => process.stderr.write(`bare worker: ${message}\n`);
  const quiet = () => undefined;
  Runtime.install({
    logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn, error: warn },
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'WARN' }, forward: {} } },
  });
  const cached = process.env.WORKER_MAX_CACHED_WORKFLOWS;
  const bundle = process.env.BARE_WORKFLOW_BUNDLE;
  required('TEMPORAL_ADDRESS');
  const { connection, namespace, close } = await connectWorkerConnection();
  try {
    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue: required('TASK_QUEUE'),
      activities: bareActivities,
      ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: require.resolve('./workflow') }),
      ...(cached ? { maxCachedWorkflows: Number(cached) } : {}),
      shutdownGraceTime: '2s',
    });
    const stop = () => worker.shutdown();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.stdout.write('bare worker started\n');
    await worker.run();
  } finally {
    await close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
