/**
 * What open pilots cost a worker: RSS of the product's worker process as registered pilots pile up,
 * waiting for their submission, beside the bare baseline's worker with as many bare workflows
 * waiting on their first Update; and, at the largest count, the latency of reaching an early (by
 * then likely evicted from the worker's cache) pilot.
 *
 *   npx tsx bench/open-pilots.ts [counts=0,500,1000,2000] [--heap-snapshots] [--samples=20]
 *
 * One fresh stack: the product's worker (`worker/main.ts`) and API (`api/main.ts`) are processes of
 * their own, as is the bare worker (`bench/baseline/worker.ts`). Pilots are registered through
 * POST /pilots, 20 at a time, under a call whose submission deadline is 30 days away; bare
 * workflows are started 20 at a time. After each count, once both workers are idle, VmRSS is read
 * from /proc/<pid>/status. WORKER_MAX_CACHED_WORKFLOWS and NODE_OPTIONS pass from this process's
 * environment to both workers (the product's worker reads the former only if it knows it).
 *
 * --heap-snapshots: both workers run with `--heapsnapshot-signal=SIGWINCH`; after each count's RSS
 * reading each gets SIGWINCH and its snapshot is saved as bench/results/open-pilots-<kind>-<count>-*.
 * Not SIGUSR2: it is one of the Temporal SDK's default shutdown signals (Runtime `shutdownSignals`:
 * SIGINT, SIGTERM, SIGQUIT, SIGUSR2), so the worker would write its snapshot and then drain and exit.
 *
 * At the largest count, one at a time on pilots picked at random from the first half registered:
 * `samples` GET /pilots/:id (a query) and `samples` submissions (an Update) on other pilots, and
 * the same (query, submit Update) on bare workflows. Prints markdown tables; appends a JSON line to
 * bench/results/open-pilots.jsonl.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { call } from '../test/support/stack';
import { openCall, submit } from '../test/support/pilots';
import { bareStateQuery } from './baseline/messages';
import { startBare, submitBare, type BareHandle } from './baseline/client';
import {
  bundleBareWorkflow,
  fixed,
  noRepeats,
  percentiles,
  pool,
  register,
  RESULTS_DIR,
  rssMiB,
  sleep,
  startBareWorker,
  startBenchEnvironment,
  startProductStack,
  onCleanup,
  runBench,
  table,
  waitIdle,
  writeResult,
  type Percentiles,
} from './support';

const REGISTRATION_CONCURRENCY = 20;
/** Ignored by default and by the Temporal SDK (see above). */
const SNAPSHOT_SIGNAL = 'SIGWINCH';

interface Options {
  counts: number[];
  heapSnapshots: boolean;
  samples: number;
}

function parseOptions(argv: string[]): Options {
  const [counts = '0,500,1000,2000'] = argv.filter((a) => !a.startsWith('--'));
  const samples = Number(argv.find((a) => a.startsWith('--samples='))?.split('=')[1] ?? 20);
  const options = {
    counts: [...new Set(counts.split(',').map(Number))].sort((a, b) => a - b),
    heapSnapshots: argv.includes('--heap-snapshots'),
    samples,
  };
  if (options.counts.some((c) => !Number.isInteger(c) || c < 0) || !(samples >= 1)) {
    throw new Error('usage: npx tsx bench/open-pilots.ts [counts=0,500,1000,2000] [--heap-snapshots] [--samples=20]');
  }
  const largest = options.counts.at(-1) ?? 0;
  if (largest > 0 && largest < 4 * samples) throw new Error(`the largest count must be at least ${4 * samples}`);
  return options;
}

/** Signals the process and waits for its snapshot file to appear and stop growing; returns where it was moved. */
async function heapSnapshot(pid: number, name: string): Promise<string> {
  const before = new Set(fs.readdirSync(RESULTS_DIR));
  process.kill(pid, SNAPSHOT_SIGNAL);
  const deadline = Date.now() + 300_000;
  for (;;) {
    await sleep(1000);
    const file = fs
      .readdirSync(RESULTS_DIR)
      .find((f) => !before.has(f) && f.includes(`.${pid}.`) && f.endsWith('.heapsnapshot'));
    if (file) {
      const full = path.join(RESULTS_DIR, file);
      let size = -1;
      while (fs.statSync(full).size !== size) {
        size = fs.statSync(full).size;
        await sleep(2000);
      }
      const target = path.join(RESULTS_DIR, `${name}-${Date.now()}.heapsnapshot`);
      fs.renameSync(full, target);
      return target;
    }
    if (Date.now() > deadline) throw new Error(`no heap snapshot from pid ${pid} within 300 s`);
  }
}

async function timed(samples: number[], work: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  await work();
  samples.push(performance.now() - started);
}

/** `n` distinct random indexes below `below`. */
function pick(n: number, below: number): number[] {
  const chosen = new Set<number>();
  while (chosen.size < n) chosen.add(Math.floor(Math.random() * below));
  return [...chosen];
}

interface Point {
  count: number;
  productRssMiB: number;
  bareRssMiB: number;
  /** Registrations (product) and starts (bare) per second to reach this count from the previous one. */
  productRegistrationsPerSecond: number | null;
  bareStartsPerSecond: number | null;
  idle: boolean;
  snapshots?: { product: string; bare: string };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const workerEnv: Record<string, string> = {};
  if (options.heapSnapshots) {
    workerEnv.NODE_OPTIONS =
      `${process.env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=${SNAPSHOT_SIGNAL} --diagnostic-dir=${RESULTS_DIR}`.trim();
  }
  process.stderr.write(
    `open pilots: counts ${options.counts.join(', ')}; WORKER_MAX_CACHED_WORKFLOWS=${process.env.WORKER_MAX_CACHED_WORKFLOWS ?? '(unset)'}` +
      ` NODE_OPTIONS=${workerEnv.NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? '(unset)'}\n`,
  );

  const bench = await startBenchEnvironment('open_pilots');
  const address = bench.env.temporalAddress;
  onCleanup(() => bench.stop());
  const diagnostics: [string, () => string][] = [];
  try {
    const bareBundle = await bundleBareWorkflow();
    onCleanup(async () => fs.rmSync(bareBundle, { force: true }));
    const product = await startProductStack(address, workerEnv);
    onCleanup(() => product.stop());
    diagnostics.push(
      ['product worker', () => `${product.worker.exited() ? '(exited) ' : ''}${product.worker.output()}`],
      ['API', () => product.api.tail()],
    );
    const bareWorker = await startBareWorker(address, bareBundle, workerEnv);
    onCleanup(() => bareWorker.stop());
    diagnostics.push(['bare worker', () => bareWorker.tail()]);
    const bareConnection = await Connection.connect({ address });
    onCleanup(() => bareConnection.close());
    const bareClient = new Client({ connection: bareConnection, namespace: 'default' });
    const { stack } = product;
    const callId = await openCall(stack, {}, 30 * 24 * 3600);

    const repeats = noRepeats();
    const pilots: string[] = [];
    const bares: BareHandle[] = [];
    const points: Point[] = [];
    for (const count of options.counts) {
      let productRate: number | null = null;
      let bareRate: number | null = null;
      if (count > pilots.length) {
        const more = count - pilots.length;
        const started = performance.now();
        pilots.push(...(await pool(more, REGISTRATION_CONCURRENCY, () => register(stack, callId, repeats))));
        productRate = more / ((performance.now() - started) / 1000);
        const bareStarted = performance.now();
        bares.push(
          ...(await pool(more, REGISTRATION_CONCURRENCY, () => startBare(bareClient, bareWorker.taskQueue, 1000))),
        );
        bareRate = more / ((performance.now() - bareStarted) / 1000);
      }
      const idle = await waitIdle([product.worker.pid, bareWorker.pid], 0.05, 60_000);
      const point: Point = {
        count,
        productRssMiB: rssMiB(product.worker.pid),
        bareRssMiB: rssMiB(bareWorker.pid),
        productRegistrationsPerSecond: productRate,
        bareStartsPerSecond: bareRate,
        idle,
      };
      if (options.heapSnapshots) {
        point.snapshots = {
          product: await heapSnapshot(product.worker.pid, `open-pilots-product-${count}`),
          bare: await heapSnapshot(bareWorker.pid, `open-pilots-bare-${count}`),
        };
      }
      points.push(point);
      process.stderr.write(
        `${count}: product worker ${fixed(point.productRssMiB)} MiB` +
          (productRate === null ? '' : ` (${fixed(productRate)} registrations/s)`) +
          `, bare worker ${fixed(point.bareRssMiB)} MiB` +
          (bareRate === null ? '' : ` (${fixed(bareRate)} starts/s)`) +
          (idle ? '' : ' (not idle after 60 s)') +
          '\n',
      );
    }

    let latency: Record<string, Percentiles> | null = null;
    if (pilots.length > 0) {
      const early = Math.floor(pilots.length / 2);
      const samples = { productQuery: [], productSubmit: [], bareQuery: [], bareSubmit: [] } as Record<
        string,
        number[]
      >;
      await waitIdle([product.worker.pid, bareWorker.pid], 0.05, 60_000);
      const [queried, submitted] = ((indexes) => [indexes.slice(0, options.samples), indexes.slice(options.samples)])(
        pick(2 * options.samples, early),
      );
      for (const i of queried!) {
        await timed(samples.productQuery!, async () => {
          const answer = await call(stack, 'GET', `/pilots/${pilots[i]!}`);
          if (answer.status !== 200) throw new Error(`GET /pilots/${pilots[i]!}: ${answer.status}`);
        });
      }
      for (const i of submitted!) await timed(samples.productSubmit!, () => submit(stack, pilots[i]!));
      for (const i of queried!) await timed(samples.bareQuery!, () => bares[i]!.query(bareStateQuery));
      for (const i of submitted!) await timed(samples.bareSubmit!, () => submitBare(bares[i]!));
      latency = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, percentiles(v)]));
    }

    console.log(
      `\nopen pilots, registered 20 at a time; WORKER_MAX_CACHED_WORKFLOWS=${process.env.WORKER_MAX_CACHED_WORKFLOWS ?? 'unset'}\n`,
    );
    console.log(
      table(
        ['open', 'product worker RSS', 'bare worker RSS', 'product registrations/s', 'bare starts/s'],
        points.map((p) => [
          String(p.count),
          `${fixed(p.productRssMiB)} MiB`,
          `${fixed(p.bareRssMiB)} MiB`,
          p.productRegistrationsPerSecond === null ? '' : fixed(p.productRegistrationsPerSecond),
          p.bareStartsPerSecond === null ? '' : fixed(p.bareStartsPerSecond),
        ]),
      ),
    );
    if (repeats.unavailable)
      console.log(`\n(${repeats.unavailable} registrations were answered 503 and repeated with their key)`);
    if (latency) {
      console.log(`\none at a time on early pilots, at ${pilots.length} open (p50 / max of ${options.samples} each)\n`);
      const ms = (p: Percentiles | undefined) => (p ? `${fixed(p.p50)} / ${fixed(p.max)} ms` : '');
      console.log(
        table(
          ['', 'product (through the API)', 'bare (Temporal client)'],
          [
            ['state query (GET /pilots/:id)', ms(latency.productQuery), ms(latency.bareQuery)],
            ['submission (Update)', ms(latency.productSubmit), ms(latency.bareSubmit)],
          ],
        ),
      );
    }
    const file = writeResult('open-pilots', {
      options,
      workerMaxCachedWorkflows: process.env.WORKER_MAX_CACHED_WORKFLOWS ?? null,
      nodeOptions: workerEnv.NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? null,
      points,
      latency,
      repeats,
    });
    console.log(`\n(appended to ${file})`);
  } catch (error) {
    for (const [name, output] of diagnostics)
      process.stderr.write(`--- ${name} (last lines) ---\n${output().slice(-3000)}\n`);
    throw error;
  }
}

runBench(main);
