/**
 * The stack as a person runs it: the real `scripts/up.sh` with no DATABASE_URL (so on its embedded
 * PostgreSQL server), in a data directory and on ports of this test's own, driven over HTTP with
 * the tokens it writes. Then stopped the ways a person stops it: Ctrl-C in a terminal (SIGINT to
 * the whole foreground process group), SIGTERM to up.sh, and kill -9 followed by another start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Role } from '../domain/pilot';
import { freePort } from '../scripts/temporal-server';
import { pdfBytes, submissionBody, validForm } from './support/application';
import { call, compressedCall, registration, uniqueId } from './support/stack';

jest.setTimeout(240_000);

const ROOT = path.resolve(__dirname, '..');

interface Up {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  baseUrl: string;
  tokens: Record<Role, string>;
}

let dataDir: string;
let ports: Record<
  'API_PORT' | 'TEMPORAL_PORT' | 'TEMPORAL_UI_PORT' | 'IDP_PORT' | 'CODEC_TLS_PORT' | 'EMBEDDED_POSTGRES_PORT',
  string
>;
const started: Up[] = [];
/** The call of the first start, whose pilots a restart must still have. */
let firstCallId = '';

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-up-'));
  // As root, PostgreSQL runs as the `postgres` OS user, which must reach its data directory.
  fs.chmodSync(dataDir, 0o755);
  ports = {
    API_PORT: String(await freePort()),
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    IDP_PORT: String(await freePort()),
    CODEC_TLS_PORT: String(await freePort()),
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
  };
});

/** A test that failed half way stops its stack, so the next one starts on a free data directory. */
async function stopAll(): Promise<void> {
  for (const up of started) {
    if (up.child.exitCode === null && up.child.signalCode === null) {
      process.kill(up.child.pid!, 'SIGTERM');
      await up.exited;
    }
  }
}

afterEach(stopAll);

afterAll(async () => {
  await stopAll();
  // Whatever a kill -9 left that no later start cleaned up (a failed test): no stack outlives the suite.
  for (const leftover of recordedPids()) {
    if (alive(leftover)) process.kill(leftover, 'SIGKILL');
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** `bash scripts/up.sh` in a process group of its own, as a terminal runs a foreground job. */
async function startUp(): Promise<Up> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...ports, DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  // The defaults a person has: no database, no Temporal, no tokens or keys of their own.
  for (const name of [
    'DATABASE_URL',
    'TEMPORAL_ADDRESS',
    'API_TOKENS',
    'API_TOKENS_FILE',
    'PAYLOAD_CODEC_KEYS',
    'PAYLOAD_CODEC_KEYS_FILE',
    'OUTBOX_DIR',
    'STORAGE_DIR',
  ]) {
    delete env[name];
  }
  // The run's prebuilt workflow bundle spares the worker its webpack build.
  env.WORKFLOW_BUNDLE_PATH = process.env.TEST_WORKFLOW_BUNDLE;
  const child = spawn('bash', ['scripts/up.sh'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const up: Up = {
    child,
    output: () => output,
    exited,
    baseUrl: `http://127.0.0.1:${ports.API_PORT}`,
    tokens: {} as Record<Role, string>,
  };
  started.push(up);
  const deadline = Date.now() + 180_000;
  while (!output.includes('the stack is up')) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`up.sh exited early:\n${output}`);
    if (Date.now() > deadline) throw new Error(`up.sh did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const tokens = JSON.parse(fs.readFileSync(path.join(dataDir, 'api-tokens.json'), 'utf8')) as {
    token: string;
    role: Role;
  }[];
  up.tokens = Object.fromEntries(tokens.map((t) => [t.role, t.token])) as Record<Role, string>;
  return up;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // A zombie has exited and only waits to be collected.
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Every process below `pid`, from /proc (children in their own process groups included). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone while we looked.
    }
  }
  const found: number[] = [];
  const visit = (p: number) => {
    for (const child of parents.get(p) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(pid);
  return found;
}

function recordedPids(): number[] {
  const dir = path.join(dataDir, 'pids');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((f) => (JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { pid: number }).pid);
}

async function allGone(pids: number[], withinMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const left = pids.filter(alive);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The processes of a running stack, each checked to be what it should be. */
function stackProcesses(up: Up): { pids: number[]; names: string[] } {
  const pids = [up.child.pid!, ...descendants(up.child.pid!)];
  const names = pids.map((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      return '';
    }
  });
  return { pids, names };
}

function expectWholeStack(names: string[]): void {
  expect(names).toEqual(
    expect.arrayContaining([
      expect.stringContaining('scripts/up.ts'),
      expect.stringContaining('worker/main.ts'),
      expect.stringContaining('api/main.ts'),
      expect.stringContaining('start-dev'),
      expect.stringContaining('scripts/identity-provider.ts'),
      expect.stringMatching(/temporal-ui\/v[\d.]+\/server .*start/),
      expect.stringMatching(/bin\/postgres -D/),
    ]),
  );
}

test('first start: 50 parallel registrations and submissions on the embedded database, no 5xx; Ctrl-C stops it all, exit 0', async () => {
  const began = Date.now();
  const up = await startUp();
  const firstStartMs = Date.now() - began;
  expect(up.output()).toContain('initialised and started');
  expect(up.output()).toMatch(/embedded PostgreSQL on 127\.0\.0\.1:\d+ \(max_connections 100\)/);

  const callId = uniqueId('call');
  firstCallId = callId;
  expect((await call(up, 'POST', '/calls', compressedCall(callId, 3600))).status).toBe(201);
  const units = Array.from({ length: 50 }, (_, i) => `unit${String(i).padStart(2, '0')}`);
  const answers = await Promise.all(
    units.map(async (unit) => {
      const t0 = Date.now();
      const registered = await call<{ pilotId: string; phase: string }>(
        up,
        'POST',
        '/pilots',
        registration(callId, unit),
        { as: 'staff' },
      );
      const t1 = Date.now();
      const pilotId = `${callId}.${unit}`;
      const submitted = await call<{ phase: string }>(
        up,
        'POST',
        `/pilots/${pilotId}/submission`,
        submissionBody(validForm(`${unit} 市科协`), pdfBytes(pilotId)),
        { as: 'staff' },
      );
      return { unit, registered, submitted, ms: { registration: t1 - t0, submission: Date.now() - t1 } };
    }),
  );
  const slowest = (what: 'registration' | 'submission') => Math.max(...answers.map((a) => a.ms[what]));
  console.log(
    `50 in parallel: slowest registration ${slowest('registration')} ms, submission ${slowest('submission')} ms`,
  );
  const failures = answers
    .flatMap((a) => [
      { what: `registration ${a.unit} (${a.ms.registration} ms)`, answer: a.registered },
      { what: `submission ${a.unit} (${a.ms.submission} ms)`, answer: a.submitted },
    ])
    .filter(({ answer }) => answer.status >= 500)
    .map(({ what, answer }) => `${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
  expect(failures).toEqual([]);
  expect(answers.map((a) => [a.unit, a.registered.status, a.submitted.status, a.submitted.body.phase])).toEqual(
    units.map((unit) => [unit, 201, 200, 'submitted']),
  );
  // The database agrees with every workflow.
  const listed = await call<{ items: { id: string; phase: string }[] }>(
    up,
    'GET',
    `/pilots?callId=${callId}&limit=200`,
  );
  expect(listed.status).toBe(200);
  expect(listed.body.items.map((p) => [p.id, p.phase]).sort()).toEqual(
    units.map((unit) => [`${callId}.${unit}`, 'submitted']),
  );

  const { pids, names } = stackProcesses(up);
  expectWholeStack(names);
  // Ctrl-C: the terminal signals the whole foreground process group.
  const stopBegan = Date.now();
  process.kill(-up.child.pid!, 'SIGINT');
  expect(await up.exited).toEqual({ code: 0, signal: null });
  const stopMs = Date.now() - stopBegan;
  expect(await allGone(pids)).toEqual([]);
  expect(up.output()).toMatch(
    /API stopped[\s\S]*Web UI stopped[\s\S]*identity provider stopped[\s\S]*worker stopped[\s\S]*Temporal stopped[\s\S]*PostgreSQL stopped/,
  );
  expect(recordedPids()).toEqual([]);
  console.log(`first start ${(firstStartMs / 1000).toFixed(1)} s, stop ${(stopMs / 1000).toFixed(1)} s`);
});

test('second start keeps the data; SIGTERM to up.sh stops it all, exit 0', async () => {
  const began = Date.now();
  const up = await startUp();
  const secondStartMs = Date.now() - began;
  expect(up.output()).not.toContain('initialising PostgreSQL');
  // The pilots of the first start are still there.
  const listed = await call<{ items: { id: string }[] }>(up, 'GET', `/pilots?callId=${firstCallId}&limit=200`);
  expect(listed.status).toBe(200);
  expect(listed.body.items).toHaveLength(50);

  const { pids, names } = stackProcesses(up);
  expectWholeStack(names);
  process.kill(up.child.pid!, 'SIGTERM');
  expect(await up.exited).toEqual({ code: 0, signal: null });
  expect(await allGone(pids)).toEqual([]);
  expect(recordedPids()).toEqual([]);
  console.log(`second start ${(secondStartMs / 1000).toFixed(1)} s`);
});

test('after a kill -9 of up.sh the next start stops what the first left behind, then runs', async () => {
  const first = await startUp();
  const { pids: firstPids } = stackProcesses(first);
  process.kill(first.child.pid!, 'SIGKILL');
  expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
  // Its children live on in their own process groups: exactly what the next start must deal with.
  const orphans = firstPids.filter((p) => p !== first.child.pid && alive(p));
  expect(orphans.length).toBeGreaterThan(0);

  const second = await startUp();
  for (const name of ['api', 'worker', 'temporal', 'postgres']) {
    expect(second.output()).toMatch(new RegExp(`a previous run was killed and left ${name} running \\(pid \\d+\\)`));
  }
  expect(await allGone(firstPids)).toEqual([]);
  expect((await call(second, 'GET', '/health/ready')).status).toBe(200);

  const { pids } = stackProcesses(second);
  process.kill(second.child.pid!, 'SIGTERM');
  expect(await second.exited).toEqual({ code: 0, signal: null });
  expect(await allGone(pids)).toEqual([]);
});
