/**
 * Replay does not depend on today's schemas: Update handlers take their input as recorded (the
 * validator, which does not run on replay, was the one to parse it). Here the application form's
 * mobile rule is tightened so that no recorded form would pass it any more, and every committed
 * history still replays.
 */
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { AesGcmCodec } from '../lib/codec';
import { dataConverterFor } from '../lib/temporal';
import { installQuietRuntime, silentLogger } from './support/runtime';
import { TEST_CODEC_KEYS } from './support/stack';

beforeAll(installQuietRuntime);

const dir = path.join(__dirname, 'fixtures', 'histories');

test('every committed history replays under a stricter application-form schema', async () => {
  const tightened = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: silentLogger,
    webpackConfigHook: (config) => {
      config.module!.rules!.push({
        test: /domain[\\/]application-form\.ts$/,
        enforce: 'pre',
        use: [{ loader: require.resolve('./support/tighten-schema-loader.js') }],
      });
      return config;
    },
  });
  expect(tightened.code).toContain('a 19x mobile number');
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  // The recorded forms carry mobiles the stricter rule refuses.
  const recorded = files.map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
  expect(recorded.length).toBeGreaterThan(0);
  const histories = files.map((f, i) => ({ workflowId: f, history: historyFromJSON(JSON.parse(recorded[i]!)) }));
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: tightened, dataConverter: dataConverterFor(new AesGcmCodec(TEST_CODEC_KEYS)) },
    histories,
  )) {
    if (result.error) failures.push(`${result.workflowId}: ${String(result.error).slice(0, 300)}`);
  }
  expect(failures).toEqual([]);
}, 120_000);
