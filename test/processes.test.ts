/**
 * The real processes as an operator runs them: the worker and the API start from their entry
 * points with environment configuration only, answer, and on SIGTERM stop cleanly with exit code 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { freePort } from '../scripts/temporal-server';
import { ROOT } from './support/environment';
import { TEST_CODEC_KEYS } from './support/stack';

function run(entry: string, env: NodeJS.ProcessEnv) {
  // As scripts/up.sh runs them: node with tsx's loader, signals straight to the process. (The tsx
  // command relays signals and SIGKILLs a child that has not acknowledged one within ~60 ms, which
  // a busy machine turned into exit code 143.)
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
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
    // A failed test stops them too, the hard way only if they do not stop within seconds.
    for (const { child } of [api, worker]) {
      if (child.exitCode !== null) continue;
      child.kill('SIGTERM');
      const stopped = await Promise.race([exitOf(child), new Promise((r) => setTimeout(() => r('late'), 5000))]);
      if (stopped === 'late') child.kill('SIGKILL');
    }
  }
}, 120_000);
