import { startTestEnvironment, type TestEnvironment } from './environment';

declare global {
  var __pilotTestEnvironment: TestEnvironment | undefined;
}

export default async function globalSetup(): Promise<void> {
  const env = await startTestEnvironment('test');
  globalThis.__pilotTestEnvironment = env;
  // Test files run in worker processes that inherit these.
  process.env.TEST_DATABASE_URL = env.databaseUrl;
  process.env.TEST_DATABASE_TEMPLATE = env.templateDatabase;
  process.env.TEST_TEMPORAL_ADDRESS = env.temporalAddress;
  process.env.TEST_WORKFLOW_BUNDLE = env.workflowBundlePath;
  // Worker processes of the tests serve no metrics unless a test asks for them on a port of its
  // own: on the default 127.0.0.1:9464, two at once (or a developer's stack) would collide.
  process.env.WORKER_METRICS_ADDRESS ??= '';
}
