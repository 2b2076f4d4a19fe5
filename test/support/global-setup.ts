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
}
