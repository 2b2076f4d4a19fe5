/**
 * How long a closed pilot's history takes to replay against the current workflow code: what a
 * worker pays to bring an evicted pilot back into its cache, and what the replay test pays per
 * fixture.
 *
 *   npx tsx bench/replay.ts [rounds=5] [--fresh=N]
 *
 * Replays every recorded fixture in test/fixtures/histories/ (payloads encrypted with the test
 * codec keys, decoded by the product's data converter) and, with --fresh=N, the histories of N
 * closed pilots run now through the API on a fresh stack; each history `rounds` times, one replay
 * worker for all (Worker.runReplayHistories with the product's workflowsPath, bundled once at its
 * start). Per history: events, serialized bytes, p50 and max replay time, and the p50 of the CPU
 * time this process (all its threads) used meanwhile; the very first replay
 * (a cold workflow context) is left out of the figures. Appends a JSON line to
 * bench/results/replay.jsonl.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { AesGcmCodec } from '../lib/codec';
import { dataConverterFor } from '../lib/temporal';
import { ROOT } from '../test/support/environment';
import { openCall } from '../test/support/pilots';
import { installQuietRuntime } from '../test/support/runtime';
import { startStack, TEST_CODEC_KEYS } from '../test/support/stack';
import {
  fixed,
  onCleanup,
  percentiles,
  pool,
  productLifecycle,
  runBench,
  startBenchEnvironment,
  table,
  writeResult,
} from './support';

type History = temporal.api.history.v1.IHistory;

interface Options {
  rounds: number;
  fresh: number;
}

function parseOptions(argv: string[]): Options {
  const [rounds = '5'] = argv.filter((a) => !a.startsWith('--'));
  const fresh = Number(argv.find((a) => a.startsWith('--fresh='))?.split('=')[1] ?? 0);
  const options = { rounds: Number(rounds), fresh };
  if (!(options.rounds >= 1 && Number.isInteger(fresh) && fresh >= 0)) {
    throw new Error('usage: npx tsx bench/replay.ts [rounds=5] [--fresh=N]');
  }
  return options;
}

function fixtures(): Map<string, History> {
  const dir = path.join(ROOT, 'test', 'fixtures', 'histories');
  return new Map(
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => [f.replace(/\.json$/, ''), historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')))]),
  );
}

/** N pilots run to closed now, on a fresh stack (worker in this process), and their histories. */
async function freshHistories(count: number): Promise<Map<string, History>> {
  const bench = await startBenchEnvironment('replay');
  onCleanup(() => bench.stop());
  const stack = await startStack();
  onCleanup(() => stack.stop());
  const callId = await openCall(stack, { publicNoticePeriod: '1s' }, 3600);
  const ids = await pool(count, 5, () => productLifecycle(stack, callId));
  const histories = new Map<string, History>();
  for (const [i, id] of ids.entries()) {
    histories.set(`fresh-closed-${i + 1}`, await stack.client.workflow.getHandle(id).fetchHistory());
  }
  return histories;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const histories = fixtures();
  if (options.fresh > 0) for (const [name, h] of await freshHistories(options.fresh)) histories.set(name, h);
  installQuietRuntime();

  const names = [...histories.keys()];
  const times = new Map<string, number[]>(names.map((n) => [n, []]));
  /** CPU of this whole process (all threads) during each replay: less shaken by a busy machine than wall time. */
  const cpu = new Map<string, number[]>(names.map((n) => [n, []]));
  let cpuAtPull = process.cpuUsage();
  const failures: string[] = [];
  let pulledAt = 0;
  let current = '';
  async function* queue(): AsyncGenerator<HistoryAndWorkflowId> {
    for (let round = 0; round < options.rounds; round += 1) {
      for (const name of names) {
        current = name;
        pulledAt = performance.now();
        cpuAtPull = process.cpuUsage();
        yield { workflowId: `${name}@${round}`, history: histories.get(name)! };
      }
    }
  }

  const started = performance.now();
  let firstPull: number | null = null;
  let first = true;
  const replays = Worker.runReplayHistories(
    {
      workflowsPath: require.resolve('../workflows'),
      dataConverter: dataConverterFor(new AesGcmCodec(TEST_CODEC_KEYS)),
    },
    queue(),
  );
  for await (const result of replays) {
    const ms = performance.now() - pulledAt;
    const used = process.cpuUsage(cpuAtPull);
    firstPull ??= pulledAt - started;
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    if (first) first = false;
    else {
      times.get(current)!.push(ms);
      cpu.get(current)!.push((used.user + used.system) / 1000);
    }
  }
  const total = (performance.now() - started) / 1000;

  const rows = names.map((name) => {
    const history = histories.get(name)!;
    const p = percentiles(times.get(name)!);
    return {
      name,
      events: history.events?.length ?? 0,
      bytes: temporal.api.history.v1.History.encode(history).finish().length,
      ...p,
      cpuP50: percentiles(cpu.get(name)!).p50,
    };
  });
  const all = percentiles([...times.values()].flat());
  const allCpu = percentiles([...cpu.values()].flat());
  console.log(
    `\nreplay of ${names.length} histories × ${options.rounds} rounds in one replay worker ` +
      `(bundling and worker start ${fixed((firstPull ?? 0) / 1000)} s, all ${fixed(total)} s)\n`,
  );
  console.log(
    table(
      ['history', 'events', 'bytes', 'p50 ms', 'max ms', 'CPU p50 ms'],
      [
        ...rows.map((r) => [r.name, String(r.events), String(r.bytes), fixed(r.p50), fixed(r.max), fixed(r.cpuP50)]),
        ['all', '', '', fixed(all.p50), fixed(all.max), fixed(allCpu.p50)],
      ],
    ),
  );
  if (failures.length) console.log(`\n${failures.length} replays failed:\n${failures.join('\n')}`);
  const file = writeResult('replay', {
    options,
    bundleAndStartSeconds: (firstPull ?? 0) / 1000,
    histories: rows,
    all,
    allCpu,
    failures,
  });
  console.log(`\n(appended to ${file})`);
  if (failures.length) process.exitCode = 1;
}

runBench(main);
