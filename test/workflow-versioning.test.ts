/**
 * The worked example of changing workflow logic under running pilots (README, "Changing workflow
 * code"): search attributes and summaries were added behind patched('search-attributes-and-summaries').
 * Histories recorded before the change (g1) replay under the current code; the same change made
 * without the guard breaks them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { installQuietRuntime } from './support/runtime';

const fixture = (name: string) =>
  historyFromJSON(JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'histories', name), 'utf8')));
const quiet = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

beforeAll(installQuietRuntime);

test('an old history (before the change) replays under the patched code', async () => {
  const codePath = process.env.TEST_WORKFLOW_BUNDLE!;
  expect(fs.readFileSync(codePath, 'utf8').includes('search-attributes-and-summaries')).toBe(true);
  await expect(
    Worker.runReplayHistory({ workflowBundle: { codePath } }, fixture('g1-closed.json')),
  ).resolves.toBeUndefined();
});

test('the same change without patched() fails to replay the old history', async () => {
  const unpatched = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: quiet,
    webpackConfigHook: (config) => {
      config.module!.rules!.push({
        test: /workflows[\\/]pilot[\\/]pilot\.ts$/,
        enforce: 'pre',
        use: [{ loader: require.resolve('./support/unpatch-loader.js') }],
      });
      return config;
    },
  });
  expect(unpatched.code.includes('search-attributes-and-summaries')).toBe(false);
  await expect(
    Worker.runReplayHistory({ workflowBundle: unpatched }, fixture('g1-closed.json')),
  ).rejects.toBeInstanceOf(DeterminismViolationError);
}, 60_000);
