/**
 * Pilots run for a year while the code changes under them: every committed history (recorded from
 * real runs by `npm run record:histories`) must replay against the current workflow code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { installQuietRuntime } from './support/runtime';
import { TEST_CODEC_KEYS } from './support/stack';
import { AesGcmCodec } from '../lib/codec';
import { dataConverterFor } from '../lib/temporal';

beforeAll(installQuietRuntime);

const dir = path.join(__dirname, 'fixtures', 'histories');
const fixtures = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();

test('fixtures exist for the main paths', () => {
  expect(fixtures).toEqual(
    expect.arrayContaining(
      ['closed', 'tail-withheld-closed', 'not-closed', 'rectified-closed', 'rejected', 'expired'].map(
        (f) => `g1-${f}.json`,
      ),
    ),
  );
});

test.each(fixtures)('%s replays against the current workflow code', async (file) => {
  const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
  await expect(
    Worker.runReplayHistory(
      { workflowBundle: { codePath: bundlePath() }, dataConverter: dataConverterFor(new AesGcmCodec(TEST_CODEC_KEYS)) },
      history,
      file,
    ),
  ).resolves.toBeUndefined();
});

function bundlePath(): string {
  const codePath = process.env.TEST_WORKFLOW_BUNDLE;
  if (!codePath) throw new Error('TEST_WORKFLOW_BUNDLE is not set: run through jest');
  return codePath;
}
