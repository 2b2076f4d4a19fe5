/**
 * A Temporal dev server of a test's own that the test can take down (gracefully, or SIGKILL for a
 * crash) and bring back on the same address with the same SQLite file: what a worker, the API and
 * running pilots see when the Temporal cluster restarts under them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveTemporalCli, type TemporalCli } from '../../scripts/temporal-cli';
import { freePort, startTemporalServer, type RunningTemporal } from '../../scripts/temporal-server';
import { SEARCH_ATTRIBUTES } from '../../domain/search-attributes';
import { ARTIFACTS } from './environment';

export interface RestartableTemporalOptions {
  /** Names the log file in test-artifacts/. */
  label?: string;
  /** How long up() waits for the server to answer; a restart on an existing file takes longer than a first start. */
  readyTimeoutMs?: number;
}

export interface DownOptions {
  /** SIGKILL the server (a crash: no graceful shutdown) instead of SIGTERM. */
  kill?: boolean;
}

export interface RestartableTemporal {
  /** host:port, the same across restarts. */
  address: string;
  port: number;
  /** The SQLite file that carries namespaces, histories and timers across restarts. */
  dbFilename: string;
  /** Server output of every start, appended; kept after stop() for post-mortems. */
  logFile: string;
  isUp(): boolean;
  /** Stops the server; resolves once its process has exited. No-op when down. */
  down(options?: DownOptions): Promise<void>;
  /** Starts it on the same port and file; resolves once it answers getSystemInfo. No-op when up. */
  up(): Promise<void>;
  /** down(), an optional pause with the server gone, up(). */
  restart(options?: DownOptions & { downForMs?: number }): Promise<void>;
  /** down() and removal of the SQLite file's directory. */
  stop(): Promise<void>;
}

let cli: TemporalCli | undefined;

export async function startRestartableTemporal(options: RestartableTemporalOptions = {}): Promise<RestartableTemporal> {
  cli ??= resolveTemporalCli((line) => process.stderr.write(`${line}\n`));
  const temporalCli = cli;
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-restartable-'));
  const dbFilename = path.join(dir, 'temporal.db');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const logFile = path.join(ARTIFACTS, `temporal-restartable-${options.label ?? 'test'}-${process.pid}-${port}.log`);
  let server: RunningTemporal | null = null;

  const up = async () => {
    if (server) return;
    fs.appendFileSync(logFile, `--- up ${new Date().toISOString()}\n`);
    server = await startTemporalServer(temporalCli, {
      port,
      uiPort: null,
      dbFilename,
      logFile,
      searchAttributes: SEARCH_ATTRIBUTES,
      readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
    });
  };

  const down = async (downOptions: DownOptions = {}) => {
    const running = server;
    if (!running) return;
    server = null;
    fs.appendFileSync(
      logFile,
      `--- down ${downOptions.kill ? '(SIGKILL)' : '(SIGTERM)'} ${new Date().toISOString()}\n`,
    );
    await running.stop({ kill: downOptions.kill });
  };

  try {
    await up();
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    address: `127.0.0.1:${port}`,
    port,
    dbFilename,
    logFile,
    isUp: () => server !== null,
    down,
    up,
    restart: async (restartOptions = {}) => {
      await down(restartOptions);
      if (restartOptions.downForMs) await new Promise((r) => setTimeout(r, restartOptions.downForMs));
      await up();
    },
    stop: async () => {
      try {
        await down();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
