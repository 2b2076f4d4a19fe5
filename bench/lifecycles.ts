/**
 * Whole lifecycles per second: the product through its HTTP API against a bare-Temporal workflow
 * of the same shape (`bench/baseline/`), on one Temporal dev server in one run.
 *
 *   npx tsx bench/lifecycles.ts [lifecycles=100] [concurrency=10]
 *   npx tsx bench/lifecycles.ts [lifecycles=100] --saturate      (concurrency 40: full CPU)
 *
 * Product: the worker (`worker/main.ts`) and the API (`api/main.ts`) run as processes of their own,
 * with PostgreSQL and the test SMTP server; each lifecycle is register → submit → expert score →
 * approved → public notice passes (timer, 1 s) → first tranche instructed → finance confirms →
 * midterm report → midterm passed → tail instructed → finance confirms → final report →
 * acceptance passed → closed, waiting for the workflow's completion.
 * Bare: the same Updates, no-op activities and one 1 s timer, driven through @temporalio/client,
 * its worker a process of its own too.
 *
 * `lifecycles` of each run in four rounds, product, bare, product, bare (to cancel drift), after a
 * warm-up of each. Prints a markdown table; appends a JSON line to bench/results/lifecycles.jsonl.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { openCall } from '../test/support/pilots';
import { completeBare, startBare, submitBare } from './baseline/client';
import {
  bundleBareWorkflow,
  CpuMeter,
  fixed,
  noRepeats,
  pool,
  PostgresMeter,
  productLifecycle,
  startBareWorker,
  startBenchEnvironment,
  startProductStack,
  onCleanup,
  runBench,
  table,
  waitIdle,
  writeResult,
} from './support';

/** The compressed call's public notice (公示) period, the same for product and baseline. */
const PUBLIC_NOTICE = { text: '1s', ms: 1000 } as const;

interface Options {
  lifecycles: number;
  concurrency: number;
  saturate: boolean;
}

function parseOptions(argv: string[]): Options {
  const saturate = argv.includes('--saturate');
  const [lifecycles = '100', concurrency] = argv.filter((a) => !a.startsWith('--'));
  const options = {
    lifecycles: Number(lifecycles),
    concurrency: Number(concurrency ?? (saturate ? 40 : 10)),
    saturate,
  };
  if (!(options.lifecycles >= 2 && options.concurrency >= 1)) {
    throw new Error('usage: npx tsx bench/lifecycles.ts [lifecycles>=2] [concurrency] [--saturate]');
  }
  return options;
}

async function bareLifecycle(client: Client, taskQueue: string): Promise<string> {
  const handle = await startBare(client, taskQueue, PUBLIC_NOTICE.ms);
  await submitBare(handle);
  await completeBare(handle);
  return handle.workflowId;
}

interface HistoryFigures {
  events: number;
  bytes: number;
  byType: Record<string, number>;
}

async function historyOf(client: Client, workflowId: string): Promise<HistoryFigures> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const byType: Record<string, number> = {};
  for (const event of history.events ?? []) {
    const type = temporal.api.enums.v1.EventType[event.eventType ?? 0]?.replace(/^EVENT_TYPE_/, '') ?? '?';
    byType[type] = (byType[type] ?? 0) + 1;
  }
  return {
    events: history.events?.length ?? 0,
    bytes: temporal.api.history.v1.History.encode(history).finish().length,
    byType,
  };
}

type Kind = 'product' | 'bare';

interface Round {
  kind: Kind;
  lifecycles: number;
  seconds: number;
  perSecond: number;
  /** CPU seconds per lifecycle, by process. */
  cpu: Record<string, number>;
  idleBefore: boolean;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const half = Math.floor(options.lifecycles / 2);
  const roundSizes = [half, half, options.lifecycles - half, options.lifecycles - half];
  process.stderr.write(
    `lifecycles: ${options.lifecycles} product + ${options.lifecycles} bare, concurrency ${options.concurrency}\n`,
  );

  const bench = await startBenchEnvironment('lifecycles');
  const address = bench.env.temporalAddress;
  onCleanup(() => bench.stop());
  const bareBundle = await bundleBareWorkflow();
  onCleanup(async () => fs.rmSync(bareBundle, { force: true }));
  const product = await startProductStack(address);
  onCleanup(() => product.stop());
  const bareWorker = await startBareWorker(address, bareBundle);
  onCleanup(() => bareWorker.stop());
  const bareConnection = await Connection.connect({ address });
  onCleanup(() => bareConnection.close());
  const bareClient = new Client({ connection: bareConnection, namespace: 'default' });
  const { stack } = product;

  const callId = await openCall(stack, { publicNoticePeriod: PUBLIC_NOTICE.text }, 24 * 3600);
  const repeats = noRepeats();
  const run: Record<Kind, () => Promise<string>> = {
    product: () => productLifecycle(stack, callId, repeats),
    bare: () => bareLifecycle(bareClient, bareWorker.taskQueue),
  };
  const warmUp = Math.min(options.concurrency, 10);
  process.stderr.write(`warm-up: ${warmUp} of each\n`);
  await pool(warmUp, options.concurrency, run.product);
  await pool(warmUp, options.concurrency, run.bare);
  Object.assign(repeats, noRepeats()); // counted from the measured rounds on

  const pids = {
    temporal: bench.temporalPid,
    worker: product.worker.pid,
    api: product.api.pid,
    bareWorker: bareWorker.pid,
    driver: process.pid,
  };
  const watched = Object.values(pids).filter((p): p is number => p !== null && p !== process.pid);
  const rounds: Round[] = [];
  const last: Record<Kind, string> = { product: '', bare: '' };
  for (const [i, lifecycles] of roundSizes.entries()) {
    const kind: Kind = i % 2 === 0 ? 'product' : 'bare';
    const idleBefore = await waitIdle(watched);
    const cpu = new CpuMeter(pids);
    const postgres = await PostgresMeter.begin(stack.databaseUrl);
    const started = performance.now();
    const ids = await pool(lifecycles, options.concurrency, run[kind]);
    const seconds = (performance.now() - started) / 1000;
    const used = { ...cpu.read(), postgres: await postgres.read() };
    last[kind] = ids.at(-1)!;
    const perLifecycle = Object.fromEntries(Object.entries(used).map(([name, s]) => [name, s / lifecycles]));
    rounds.push({ kind, lifecycles, seconds, perSecond: lifecycles / seconds, cpu: perLifecycle, idleBefore });
    process.stderr.write(
      `round ${i + 1} ${kind}: ${lifecycles} in ${seconds.toFixed(1)} s = ${(lifecycles / seconds).toFixed(2)}/s\n`,
    );
  }

  const histories = {
    product: await historyOf(stack.client, last.product),
    bare: await historyOf(bareClient, last.bare),
  };
  const totals = (kind: Kind) => {
    const mine = rounds.filter((r) => r.kind === kind);
    const count = mine.reduce((s, r) => s + r.lifecycles, 0);
    const seconds = mine.reduce((s, r) => s + r.seconds, 0);
    const cpu: Record<string, number> = {};
    for (const r of mine)
      for (const [name, s] of Object.entries(r.cpu)) cpu[name] = (cpu[name] ?? 0) + s * r.lifecycles;
    for (const name of Object.keys(cpu)) cpu[name] = cpu[name]! / count;
    return { lifecycles: count, seconds, perSecond: count / seconds, cpu };
  };
  const summary = { product: totals('product'), bare: totals('bare') };
  const ratio = summary.product.perSecond / summary.bare.perSecond;

  const ownWorker = (kind: Kind) => (kind === 'product' ? 'worker' : 'bareWorker');
  const cpuTotal = (kind: Kind) => {
    const c = summary[kind].cpu;
    return (c.temporal ?? 0) + (c[ownWorker(kind)] ?? 0) + (kind === 'product' ? (c.api ?? 0) + (c.postgres ?? 0) : 0);
  };
  const ms = (seconds: number | undefined) => (seconds === undefined ? '–' : `${fixed(seconds * 1000, 0)} ms`);
  const cpuRow = (label: string, pick: (kind: Kind) => number | undefined) => [
    label,
    ms(pick('product')),
    ms(pick('bare')),
    fixed((pick('product') ?? NaN) / (pick('bare') ?? NaN), 1),
  ];
  const rows = [
    [
      'lifecycles/s (rounds 1, 2)',
      rounds
        .filter((r) => r.kind === 'product')
        .map((r) => fixed(r.perSecond, 2))
        .join(', '),
      rounds
        .filter((r) => r.kind === 'bare')
        .map((r) => fixed(r.perSecond, 2))
        .join(', '),
      '',
    ],
    ['lifecycles/s', fixed(summary.product.perSecond, 2), fixed(summary.bare.perSecond, 2), fixed(ratio, 2)],
    [
      'events per lifecycle',
      String(histories.product.events),
      String(histories.bare.events),
      fixed(histories.product.events / histories.bare.events, 1),
    ],
    [
      'history bytes (closed)',
      String(histories.product.bytes),
      String(histories.bare.bytes),
      fixed(histories.product.bytes / histories.bare.bytes, 1),
    ],
    cpuRow('CPU/lifecycle: Temporal server', (k) => summary[k].cpu.temporal),
    cpuRow('CPU/lifecycle: its worker', (k) => summary[k].cpu[ownWorker(k)]),
    cpuRow('CPU/lifecycle: API process', (k) => (k === 'product' ? summary[k].cpu.api : undefined)),
    cpuRow('CPU/lifecycle: PostgreSQL backends', (k) => (k === 'product' ? summary[k].cpu.postgres : undefined)),
    cpuRow('CPU/lifecycle: sum of the above', cpuTotal),
    cpuRow('CPU/lifecycle: bench (driver, SMTP)', (k) => summary[k].cpu.driver),
  ];
  const title =
    `${options.lifecycles} lifecycles of each, concurrency ${options.concurrency}` +
    `${options.saturate ? ' (--saturate)' : ''}, rounds product/bare/product/bare` +
    (rounds.every((r) => r.idleBefore) ? '' : ' (a round started before the processes were idle)');
  console.log(`\n${title}\n`);
  if (repeats.unavailable + repeats.accepted) {
    console.log(
      `(requests repeated with their Idempotency-Key: ${repeats.unavailable} after a 503, ${repeats.accepted} after a 202)\n`,
    );
  }
  console.log(table(['', 'product', 'bare', 'product/bare'], rows));
  const types = [...new Set([...Object.keys(histories.product.byType), ...Object.keys(histories.bare.byType)])];
  console.log('\nevents of one closed lifecycle, by type\n');
  console.log(
    table(
      ['event type', 'product', 'bare'],
      types.map((t) => [t, String(histories.product.byType[t] ?? 0), String(histories.bare.byType[t] ?? 0)]),
    ),
  );
  const file = writeResult('lifecycles', {
    options,
    rounds,
    summary,
    ratio,
    histories,
    repeats,
  });
  console.log(`\n(appended to ${file})`);
}

runBench(main);
