/**
 * The real processes as an operator runs them: the worker and the API start from their entry
 * points with environment configuration only, answer, and on SIGTERM stop cleanly with exit code 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { freePort } from '../scripts/temporal-server';
import { ROOT } from './support/environment';
import { TEST_CODEC_KEYS } from './support/stack';

const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

function run(entry: string, env: NodeJS.ProcessEnv) {
  // Its own process group: tsx runs the entry point in a child of its own, which a failed test's
  // cleanup must stop too.
  const child = spawn(TSX, [entry], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function until(check: () => boolean, timeoutMs: number, what: string, output: () => string) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not seen within ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const exitOf = (child: ChildProcess) =>
  new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code)),
  );

test('worker and API start from configuration, serve, and exit 0 on SIGTERM', async () => {
  const apiPort = await freePort();
  const token = `process-test-${randomUUID()}`;
  const env = {
    DATABASE_URL: process.env.TEST_DATABASE_URL,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
    TASK_QUEUE: `processes-${randomUUID()}`,
    API_PORT: String(apiPort),
    API_TOKENS: JSON.stringify([{ token, role: 'auditor', user: 'auditor-process-test' }]),
    PAYLOAD_CODEC_KEYS: JSON.stringify(TEST_CODEC_KEYS),
    LOG_LEVEL: 'info',
  };
  const worker = run('worker/main.ts', env);
  const api = run('api/main.ts', env);
  try {
    await until(() => worker.output().includes('"msg":"worker started"'), 60_000, 'worker started', worker.output);
    await until(() => api.output().includes('"msg":"api listening"'), 60_000, 'api listening', api.output);

    const ready = await fetch(`http://127.0.0.1:${apiPort}/health/ready`);
    expect(await ready.json()).toEqual({ status: 'ok', database: 'ok', temporal: 'ok' });
    const calls = await fetch(`http://127.0.0.1:${apiPort}/calls`, { headers: { authorization: `Bearer ${token}` } });
    expect(calls.status).toBe(200);
    // The token is never written to the logs.
    expect(api.output()).not.toContain(token);

    api.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    expect(await exitOf(api.child)).toBe(0);
    expect(await exitOf(worker.child)).toBe(0);
    expect(worker.output()).toContain('"msg":"worker stopped"');
    expect(api.output()).toContain('"msg":"api stopped"');
  } finally {
    for (const { child } of [api, worker]) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // The group has exited already.
      }
    }
  }
}, 120_000);
