/**
 * The product's worker as an operator runs it (`worker/main.ts`, configured by environment only),
 * as a child process a fault test can SIGKILL mid-flight and start again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exited, stopChild } from '../../scripts/child-process';
import { ROOT } from './environment';
import { TEST_CODEC_KEYS } from './stack';

export interface WorkerProcessEnv {
  TASK_QUEUE: string;
  /** Default: the run's TEST_DATABASE_URL. */
  DATABASE_URL?: string;
  /** Default: the run's TEST_TEMPORAL_ADDRESS. */
  TEMPORAL_ADDRESS?: string;
  /** Unset: notices are written as .eml files to OUTBOX_DIR, by default a temporary directory of this process. */
  SMTP_URL?: string;
  /** Must leave `info` visible: startup is detected from the "worker started" line. */
  LOG_LEVEL?: 'trace' | 'debug' | 'info';
  [name: string]: string | undefined;
}

export interface WorkerProcess {
  pid: number;
  /** SIGKILL, as a crash or an OOM kill; resolves once the process has exited. */
  kill9(): Promise<void>;
  /** SIGTERM (the worker drains for WORKER_SHUTDOWN_GRACE), SIGKILL after 15 s; resolves to the exit code. */
  stop(): Promise<number | null>;
  exited(): boolean;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
}

const STARTED = '"msg":"worker started"';
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;

/** Started and not yet reaped: SIGKILLed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (exited(child)) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    // A process that could not be spawned emits no 'exit'.
    child.once('error', () => {
      if (child.pid === undefined) resolve(null);
    });
  });
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (its globalSetup starts the servers)`);
  return value;
}

export async function startWorkerProcess(env: WorkerProcessEnv): Promise<WorkerProcess> {
  const outboxDir = env.SMTP_URL || env.OUTBOX_DIR ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'worker-outbox-'));
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: env.DATABASE_URL ?? required('TEST_DATABASE_URL'),
    TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS ?? required('TEST_TEMPORAL_ADDRESS'),
    PAYLOAD_CODEC_KEYS: JSON.stringify(TEST_CODEC_KEYS),
    WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE,
    LOG_LEVEL: 'info',
    // The product's default of 30 s would make every stop() of a busy worker wait that long.
    WORKER_SHUTDOWN_GRACE: '2s',
    ...(outboxDir ? { OUTBOX_DIR: outboxDir } : {}),
    ...env,
  };

  // Node itself with tsx's loader, not node_modules/.bin/tsx: that wrapper runs the script in a
  // second node process, which a SIGKILL to the wrapper leaves running as an orphan.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('worker', 'main.ts')], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = exitOf(child).then((code) => {
    running.delete(child);
    if (outboxDir) fs.rmSync(outboxDir, { recursive: true, force: true });
    return code;
  });

  const kill9 = async () => {
    child.kill('SIGKILL');
    await exit;
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`worker process ${child.pid} did not log "worker started" within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        if (error) reject(error);
        else resolve();
      };
      const onData = () => {
        if (output.includes(STARTED)) settle();
      };
      child.stdout!.on('data', onData);
      child.once('error', (error) => settle(error));
      void exit.then((code) => settle(new Error(`worker process exited with code ${code} before it started`)));
    });
  } catch (error) {
    await kill9();
    throw new Error(`${(error as Error).message}\n--- worker output ---\n${output}`);
  }

  return {
    pid: child.pid!,
    kill9,
    stop: async () => {
      await stopChild(child, 'SIGTERM', STOP_GRACE_MS);
      return exit;
    },
    exited: () => exited(child),
    output: () => output,
  };
}
