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
import { AesGcmCodec } from '../lib/codec';
import { dataConverterFor } from '../lib/temporal';
import { installQuietRuntime, silentLogger } from './support/runtime';
import { TEST_CODEC_KEYS } from './support/stack';

const fixture = (name: string) =>
  historyFromJSON(JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'histories', name), 'utf8')));

beforeAll(installQuietRuntime);

test('an old history (before the change) replays under the patched code', async () => {
  const codePath = process.env.TEST_WORKFLOW_BUNDLE!;
  expect(fs.readFileSync(codePath, 'utf8').includes('search-attributes-and-summaries')).toBe(true);
  await expect(
    Worker.runReplayHistory({ workflowBundle: { codePath } }, fixture('g1-closed.json')),
  ).resolves.toBeUndefined();
});

/** The workflow built as if the change guarded by `patch` had been made without its guard. */
const unpatchedBundle = (patch: string) =>
  bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: silentLogger,
    webpackConfigHook: (config) => {
      config.module!.rules!.push({
        test: /workflows[\\/]pilot[\\/]pilot\.ts$/,
        enforce: 'pre',
        use: [{ loader: require.resolve('./support/unpatch-loader.js'), options: { patch } }],
      });
      return config;
    },
  });

test.each([
  ['search-attributes-and-summaries', 'g1-closed.json'],
  // Notices queued in the ledger's transaction: the separate notice activities of g2 disappear.
  ['ledger-first-outbox', 'g2-closed.json'],
  ['ledger-first-outbox', 'g2-objection-withdrawn.json'],
  // The pilot's records as local activities: g3's scheduled record activities disappear.
  ['slim-history', 'g3-closed.json'],
  ['slim-history', 'g3-reminded-extended-integrity.json'],
])(
  'the change behind patched(%p) made without it fails to replay %s',
  async (patch, fixtureFile) => {
    const unpatched = await unpatchedBundle(patch);
    expect(unpatched.code.includes(`patched('${patch}')`)).toBe(false);
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: unpatched, dataConverter: dataConverterFor(new AesGcmCodec(TEST_CODEC_KEYS)) },
        fixture(fixtureFile),
      ),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  },
  60_000,
);
