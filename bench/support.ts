/**
 * What the benches share: the real servers (through the test support), the product's worker and
 * API as the processes an operator runs, the bare baseline's worker process, and the readings
 * (CPU time and RSS from /proc, percentiles, a JSON line per run).
 *
 * The product is reached only through its public surfaces: the HTTP API (`api/main.ts`), the
 * worker process (`worker/main.ts`), the Temporal client and the helpers in `test/support/`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { bundleWorkflowCode } from '@temporalio/worker';
import { exited, stopChild } from '../scripts/child-process';
import { freePort } from '../scripts/temporal-server';
import { ROOT, startTestEnvironment, type TestEnvironment } from '../test/support/environment';
import {
  call,
  registration,
  startStack,
  TEST_CODEC_KEYS,
  TEST_USERS,
  uniqueId,
  type ApiAnswer,
  type RequestOptions,
  type Stack,
} from '../test/support/stack';
import { startWorkerProcess, type WorkerProcess } from '../test/support/worker-process';
import type { Role } from '../domain/pilot';
import { submitApplication } from '../test/support/application';
import { FINAL_REPORT, finance, type PilotView } from '../test/support/pilots';

export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');

// ---------------------------------------------------------------------------------------------
// Readings

const CLOCK_TICKS = (() => {
  const answer = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(answer.stdout?.trim());
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
})();

/** User + system CPU seconds a process has used so far (/proc/<pid>/stat); null once it has gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start with the state, field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** Resident set size in MiB (/proc/<pid>/status VmRSS). */
export function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  if (!kib) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kib) / 1024;
}

/** CPU seconds of named processes between two readings. */
export class CpuMeter {
  private readonly start = new Map<string, number>();
  constructor(private readonly pids: Record<string, number | null>) {
    for (const [name, pid] of Object.entries(pids)) if (pid !== null) this.start.set(name, cpuSeconds(pid) ?? 0);
  }
  read(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      if (pid === null) continue;
      out[name] = (cpuSeconds(pid) ?? 0) - (this.start.get(name) ?? 0);
    }
    return out;
  }
}

/**
 * The PostgreSQL backends serving one database (the shared server runs other databases too): their
 * CPU between two readings, summed over the backends seen at either reading. A backend that both
 * opened and closed in between is missed, so this is a lower bound; the pools keep their
 * connections open while busy, so in practice it is close.
 */
export class PostgresMeter {
  private start = new Map<number, number>();
  private constructor(private readonly databaseUrl: string) {}

  static async begin(databaseUrl: string): Promise<PostgresMeter> {
    const meter = new PostgresMeter(databaseUrl);
    meter.start = await meter.sample();
    return meter;
  }

  private async sample(): Promise<Map<number, number>> {
    const pg = new PgClient({ connectionString: this.databaseUrl });
    await pg.connect();
    try {
      const { rows } = await pg.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      return new Map(rows.map((r) => [r.pid, cpuSeconds(r.pid) ?? 0]));
    } finally {
      await pg.end();
    }
  }

  async read(): Promise<number> {
    const end = await this.sample();
    let total = 0;
    for (const [pid, seconds] of end) total += seconds - (this.start.get(pid) ?? 0);
    for (const [pid, seconds] of this.start)
      if (!end.has(pid)) total += Math.max(0, (cpuSeconds(pid) ?? seconds) - seconds);
    return total;
  }
}

/** Waits until the processes together use less than `maxShare` of a core over a second (at most `timeoutMs`). */
export async function waitIdle(pids: number[], maxShare = 0.05, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const before = pids.map((pid) => cpuSeconds(pid) ?? 0);
    await sleep(1000);
    const used = pids.reduce((sum, pid, i) => sum + ((cpuSeconds(pid) ?? 0) - before[i]!), 0);
    if (used < maxShare) return true;
    if (Date.now() > deadline) return false;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface Percentiles {
  n: number;
  p50: number;
  p95: number;
  max: number;
}

export function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { n: sorted.length, p50: at(0.5), p95: at(0.95), max: sorted.at(-1) ?? NaN };
}

/** Runs `count` jobs, `concurrency` at a time (a pool: a finished job's slot takes the next one). */
export async function pool<T>(count: number, concurrency: number, job: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const index = next;
      next += 1;
      results[index] = await job(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return results;
}

export function commitOf(): { commit: string; dirty: boolean } {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' });
  return { commit: head, dirty: status.stdout.trim().length > 0 };
}

/** One JSON line per run in bench/results/<bench>.jsonl (not committed). */
export function writeResult(bench: string, result: Record<string, unknown>): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${bench}.jsonl`);
  const line = {
    bench,
    at: new Date().toISOString(),
    ...commitOf(),
    node: process.version,
    cpus: os.cpus().length,
    /** The machine is shared: what else ran shows here (1, 5 and 15 minute load averages at the end). */
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
    ...result,
  };
  fs.appendFileSync(file, `${JSON.stringify(line)}\n`);
  return file;
}

export const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

/** A markdown table, columns padded for reading in a terminal. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Running a bench

const cleanups: (() => Promise<unknown>)[] = [];

/** Run at the end, last registered first, whatever happened (error, Ctrl-C, SIGTERM). */
export function onCleanup(cleanup: () => Promise<unknown>): void {
  cleanups.unshift(cleanup);
}

async function cleanUp(): Promise<void> {
  while (cleanups.length) {
    await cleanups.shift()!().catch((error: unknown) => process.stderr.write(`cleanup: ${String(error)}\n`));
  }
}

/**
 * Runs a bench's main and then its cleanups, also on SIGINT/SIGTERM, and survives a closed stdout
 * (`| head`): otherwise the dev server, the worker and API processes and the databases outlive it.
 */
export function runBench(main: () => Promise<void>): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`${signal}: stopping\n`);
      void cleanUp().then(() => process.exit(130));
    });
  }
  void main()
    .then(
      () => 0,
      (error: unknown) => {
        console.error(error);
        return 1;
      },
    )
    .then(async (code) => {
      await cleanUp();
      process.exit(process.exitCode ?? code);
    });
}

// ---------------------------------------------------------------------------------------------
// Servers and processes

export interface BenchEnvironment {
  env: TestEnvironment;
  /** The Temporal dev server's process (null when the SDK runs it). */
  temporalPid: number | null;
  stop(): Promise<void>;
}

/** A fresh database and Temporal dev server, as the test suite's global setup makes them. */
export async function startBenchEnvironment(label: string): Promise<BenchEnvironment> {
  let env: TestEnvironment;
  for (let attempt = 1; ; attempt += 1) {
    try {
      env = await startTestEnvironment(label);
      break;
    } catch (error) {
      // startTestEnvironment starts the dev server beside the database and leaves it running when
      // the database part fails (the shared PostgreSQL sometimes takes over 5 s to accept a
      // connection while other suites run): stop it, and try again.
      for (const pid of devServerChildren()) process.kill(pid, 'SIGTERM');
      if (attempt >= 3 || !String(error).includes('none answers')) throw error;
      process.stderr.write(`PostgreSQL did not answer within 5 s (attempt ${attempt} of 3); again in 5 s\n`);
      await sleep(5000);
    }
  }
  process.env.TEST_DATABASE_URL = env.databaseUrl;
  process.env.TEST_TEMPORAL_ADDRESS = env.temporalAddress;
  process.env.TEST_WORKFLOW_BUNDLE = env.workflowBundlePath;
  // One stack per run: it uses the run's database rather than a clone of the template.
  delete process.env.TEST_DATABASE_TEMPLATE;
  return { env, temporalPid: temporalServerPid(env.temporalAddress), stop: () => env.stop() };
}

/** Temporal dev servers started by this process: pid and arguments. */
function devServers(): { pid: number; args: string[] }[] {
  const found: { pid: number; args: string[] }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.includes('start-dev')) found.push({ pid: Number(entry), args });
    } catch {
      // A process that ended while we looked.
    }
  }
  return found;
}

const devServerChildren = () => devServers().map((s) => s.pid);

/** The dev server is a child of this process, started with `--port <port>`. */
function temporalServerPid(address: string): number | null {
  const port = address.split(':').at(-1)!;
  return devServers().find((s) => s.args[s.args.indexOf('--port') + 1] === port)?.pid ?? null;
}

export interface ChildHandle {
  pid: number;
  stop(): Promise<void>;
  /** The last lines the process wrote. */
  tail(): string;
}

/** Node with tsx's loader on a TypeScript entry, keeping the last 64 KiB of its output. */
function spawnTs(entry: string, env: NodeJS.ProcessEnv): { child: ChildProcess; tail: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-64 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  process.once('exit', () => {
    if (!exited(child)) child.kill('SIGKILL');
  });
  return { child, tail: () => output };
}

async function waitFor(what: string, check: () => Promise<boolean>, child: ChildProcess, tail: () => string) {
  const deadline = Date.now() + 60_000;
  while (!(await check().catch(() => false))) {
    if (exited(child)) throw new Error(`${what} exited before it was ready:\n${tail()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${what} not ready within 60 s:\n${tail()}`);
    }
    await sleep(100);
  }
}

/** The product's API as an operator runs it (`api/main.ts`, configured by environment only). */
export async function startApiProcess(
  stack: Stack,
  temporalAddress: string,
): Promise<ChildHandle & { baseUrl: string }> {
  const port = await freePort();
  const { child, tail } = spawnTs(path.join('api', 'main.ts'), {
    ...process.env,
    DATABASE_URL: stack.databaseUrl,
    DATABASE_POOL_SIZE: '20',
    TEMPORAL_ADDRESS: temporalAddress,
    TASK_QUEUE: stack.taskQueue,
    API_PORT: String(port),
    API_HOST: '127.0.0.1',
    API_TOKENS: JSON.stringify(
      (Object.keys(TEST_USERS) as Role[]).map((role) => ({ token: stack.tokens[role], role, user: TEST_USERS[role] })),
    ),
    PAYLOAD_CODEC_KEYS: JSON.stringify(TEST_CODEC_KEYS),
    STORAGE_DIR: stack.storageDir,
    LOG_LEVEL: 'info',
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitFor('the API process', async () => (await fetch(`${baseUrl}/health/live`)).ok, child, tail);
  return { pid: child.pid!, baseUrl, tail, stop: () => stopChild(child, 'SIGTERM', 10_000) };
}

export interface ProductStack {
  /** The test stack, its `baseUrl` pointing at the API process (its in-process API stays idle). */
  stack: Stack;
  api: ChildHandle & { baseUrl: string };
  worker: WorkerProcess;
  stop(): Promise<void>;
}

/**
 * The product as three processes: the worker (`worker/main.ts`, its outbox relay sending to the
 * stack's SMTP server), the API (`api/main.ts`), and this one driving them over HTTP. Environment
 * the caller sets (NODE_OPTIONS, WORKER_MAX_CACHED_WORKFLOWS) passes through to both.
 */
export async function startProductStack(temporalAddress: string, workerEnv: Record<string, string> = {}) {
  const inner = await startStack({ worker: false });
  let worker: WorkerProcess | null = null;
  let api: (ChildHandle & { baseUrl: string }) | null = null;
  const stop = async () => {
    await api?.stop();
    await worker?.stop();
    await inner.stop();
  };
  try {
    worker = await startWorkerProcess({
      TASK_QUEUE: inner.taskQueue,
      DATABASE_URL: inner.databaseUrl,
      DATABASE_POOL_SIZE: '20',
      TEMPORAL_ADDRESS: temporalAddress,
      SMTP_URL: inner.smtp.url,
      ...workerEnv,
    });
    api = await startApiProcess(inner, temporalAddress);
  } catch (error) {
    await stop();
    throw error;
  }
  const product: ProductStack = { stack: { ...inner, baseUrl: api.baseUrl }, api, worker, stop };
  return product;
}

/** The bare baseline's workflow code, bundled once (as the product's is) into a temporary file. */
export async function bundleBareWorkflow(): Promise<string> {
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./baseline/workflow'),
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: (message) => process.stderr.write(`bundler: ${message}\n`),
      error: (message) => process.stderr.write(`bundler: ${message}\n`),
    },
  });
  const file = path.join(os.tmpdir(), `bare-workflows-${process.pid}-${Date.now()}.js`);
  fs.writeFileSync(file, bundle.code);
  return file;
}

/** The bare baseline's worker process (`bench/baseline/worker.ts`) on a task queue of its own. */
export async function startBareWorker(
  temporalAddress: string,
  bundlePath: string,
  env: Record<string, string> = {},
): Promise<ChildHandle & { taskQueue: string }> {
  const taskQueue = `bare-${randomUUID()}`;
  const { child, tail } = spawnTs(path.join('bench', 'baseline', 'worker.ts'), {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress,
    TASK_QUEUE: taskQueue,
    BARE_WORKFLOW_BUNDLE: bundlePath,
    ...env,
  });
  await waitFor('the bare worker process', async () => tail().includes('bare worker started'), child, tail);
  return { pid: child.pid!, taskQueue, tail, stop: () => stopChild(child, 'SIGTERM', 15_000) };
}

// ---------------------------------------------------------------------------------------------
// The product's common path

/**
 * Answers a client repeats with the same Idempotency-Key, as the README tells it to: 503 (Temporal
 * busy or away, nothing done) and 202 (the Update was accepted but its result took longer than the
 * API's budget). A repeat can never act twice.
 */
export interface Repeats {
  unavailable: number;
  accepted: number;
}

export const noRepeats = (): Repeats => ({ unavailable: 0, accepted: 0 });

const MAX_REPEATS = 20;

async function repeating(
  what: string,
  send: (idempotencyKey: string) => Promise<ApiAnswer<PilotView>>,
  repeats: Repeats,
): Promise<PilotView> {
  const key = randomUUID();
  for (let attempt = 1; ; attempt += 1) {
    const answer = await send(key);
    if (answer.status === 200 || answer.status === 201) return answer.body;
    if ((answer.status !== 503 && answer.status !== 202) || attempt > MAX_REPEATS) {
      throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    if (answer.status === 503) repeats.unavailable += 1;
    else repeats.accepted += 1;
    await sleep(1000);
  }
}

/** POST /pilots, repeated on 503 with its key; returns the pilot id. */
export async function register(stack: Stack, callId: string, repeats = noRepeats()): Promise<string> {
  const body = registration(callId, uniqueId('unit'));
  const state = await repeating(
    'POST /pilots',
    (idempotencyKey) => call<PilotView>(stack, 'POST', '/pilots', body, { idempotencyKey }),
    repeats,
  );
  return state.pilotId;
}

/** The application with its PDF (POST /pilots/:id/submission), repeated on 503 and 202 with its key. */
export function submitRepeating(stack: Stack, pilotId: string, repeats = noRepeats()): Promise<PilotView> {
  return repeating(
    'submission',
    async (idempotencyKey) =>
      (await submitApplication(stack, pilotId, { idempotencyKey })) as unknown as ApiAnswer<PilotView>,
    repeats,
  );
}

/** A staff action (POST /pilots/:id/<path>), repeated on 503 and 202 with its key. */
export function actRepeating(
  stack: Stack,
  pilotId: string,
  path: string,
  body: unknown,
  repeats: Repeats,
  options: RequestOptions = {},
): Promise<PilotView> {
  return repeating(
    `POST ${path}`,
    (idempotencyKey) =>
      call<PilotView>(stack, 'POST', `/pilots/${pilotId}/${path}`, body, { ...options, idempotencyKey }),
    repeats,
  );
}

/** Polls GET /pilots/:id every 100 ms until the phase is reached; a 503 is only "not yet". */
async function waitForPhaseRepeating(stack: Stack, pilotId: string, phase: PilotView['phase'], repeats: Repeats) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const answer = await call<PilotView>(stack, 'GET', `/pilots/${pilotId}`);
    if (answer.status === 200 && answer.body.phase === phase) return answer.body;
    if (answer.status === 503) repeats.unavailable += 1;
    else if (answer.status !== 200)
      throw new Error(`GET /pilots/${pilotId}: ${answer.status} ${JSON.stringify(answer.body)}`);
    if (Date.now() > deadline) throw new Error(`${pilotId}: phase ${phase} not reached within 120 s`);
    await sleep(100);
  }
}

/**
 * One pilot through the HTTP API from registration to closed (the path of the `closed` fixture):
 * register, submit, expert score, approved, public notice passes, finance confirms the first
 * tranche, midterm report, midterm passed, finance confirms the tail, final report, acceptance
 * passed; resolves once the workflow has completed. Requests are repeated as a client would.
 */
export async function productLifecycle(stack: Stack, callId: string, repeats = noRepeats()): Promise<string> {
  const act = (pilotId: string, path: string, body: unknown, options?: RequestOptions) =>
    actRepeating(stack, pilotId, path, body, repeats, options);
  const pilotId = await register(stack, callId, repeats);
  await submitRepeating(stack, pilotId, repeats);
  await act(pilotId, 'expert-scores', { expert: { id: 'expert-1', province: '江苏' }, score: 90, comment: '好' });
  await act(pilotId, 'review-decision', { outcome: 'approved', amountFen: 350_000_00, reason: '评审通过' });
  await waitForPhaseRepeating(stack, pilotId, 'in_progress', repeats);
  await act(pilotId, 'tranches/first/confirmation', { reference: 'BANK-1' }, finance);
  await act(pilotId, 'midterm-report', { reference: '中期报告.pdf' });
  await act(pilotId, 'midterm-evaluation', { outcome: 'passed', reason: '良好' });
  await act(pilotId, 'tranches/tail/confirmation', { reference: 'BANK-2' }, finance);
  await act(pilotId, 'final-report', FINAL_REPORT);
  const closed = await act(pilotId, 'acceptance', { outcome: 'passed', reason: '验收通过' });
  if (closed.phase !== 'closed') throw new Error(`${pilotId}: ${closed.phase} after acceptance`);
  await stack.client.workflow.getHandle(pilotId).result();
  return pilotId;
}
