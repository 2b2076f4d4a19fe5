/**
 * Records workflow histories from real runs into test/fixtures/histories/, for the replay tests
 * that keep old pilots replaying while the code changes. Each scenario drives the product through
 * its HTTP API on a throw-away Temporal server and database.
 *
 *   npm run record:histories            # all scenarios
 *   npm run record:histories approved   # one
 *
 * Commit new files; never rewrite a fixture that already shipped (it stands for pilots in flight).
 */
import fs from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { startTestEnvironment, ROOT } from '../test/support/environment';
import { startStack, type Stack } from '../test/support/stack';
import { FIXTURE_GENERATION, scenarios } from '../test/support/scenarios';

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const env = await startTestEnvironment('record');
  process.env.TEST_DATABASE_URL = env.databaseUrl;
  process.env.TEST_TEMPORAL_ADDRESS = env.temporalAddress;
  process.env.TEST_WORKFLOW_BUNDLE = env.workflowBundlePath;
  let stack: Stack | undefined;
  try {
    stack = await startStack();
    for (const [name, run] of Object.entries(scenarios)) {
      if (wanted.length && !wanted.includes(name)) continue;
      const pilotId = await run(stack);
      await stack.client.workflow.getHandle(pilotId).result();
      const history = await stack.client.workflow.getHandle(pilotId).fetchHistory();
      const file = path.join(ROOT, 'test', 'fixtures', 'histories', `${FIXTURE_GENERATION}-${name}.json`);
      fs.writeFileSync(file, `${historyToJSON(history)}\n`);
      console.log(`recorded ${path.relative(ROOT, file)} (${history.events?.length ?? 0} events)`);
    }
  } finally {
    await stack?.stop();
    await env.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
