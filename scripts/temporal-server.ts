/**
 * Starts a Temporal dev server (with the Web UI unless headless) and waits until it answers.
 * Used by the stack command and by the test suite, so both run the same real server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { exited, stopChild } from './child-process';
import type { TemporalCli } from './temporal-cli';

export interface TemporalServerOptions {
  port: number;
  /** null: no Web UI. */
  uiPort: number | null;
  /** SQLite file for persistence; null keeps everything in memory. */
  dbFilename: string | null;
  logFile: string;
  searchAttributes?: Record<string, 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList'>;
  /** Codec server the Web UI should use to decode payloads. */
  uiCodecEndpoint?: string;
  readyTimeoutMs?: number;
  /**
   * Run the server in a process group of its own, so a terminal's Ctrl-C (SIGINT to the whole
   * foreground group) does not stop it before the processes that use it; the caller stops it.
   */
  detached?: boolean;
}

export interface RunningTemporal {
  address: string;
  uiUrl: string | null;
  /** The server process (null when the SDK runs it). */
  pid: number | null;
  /** SIGTERM (or SIGKILL with `kill`: a crash, no graceful shutdown); resolves once it has exited. */
  stop(options?: { kill?: boolean }): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Until a Temporal frontend at `address` answers GetSystemInfo (which needs no token, even on a
 * cluster that checks them); `isDown` says when waiting is pointless.
 */
export async function waitForTemporal(
  address: string,
  options: { timeoutMs: number; isDown: () => string | null; tls?: ConnectionOptions['tls'] },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const down = options.isDown();
    if (down) throw new Error(down);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000, tls: options.tls ?? false });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`Temporal at ${address} did not answer within ${options.timeoutMs} ms: ${String(lastError)}`);
}

const waitUntilServing = (address: string, child: ChildProcess, timeoutMs: number) =>
  waitForTemporal(address, {
    timeoutMs,
    isDown: () => (exited(child) ? `the Temporal server exited (${child.exitCode ?? child.signalCode})` : null),
  });

function devServerArgs(options: TemporalServerOptions): string[] {
  const args = ['--namespace', 'default', '--log-level', 'warn'];
  if (options.dbFilename) args.push('--db-filename', options.dbFilename);
  for (const [name, type] of Object.entries(options.searchAttributes ?? {})) {
    args.push('--search-attribute', `${name}=${type}`);
  }
  if (options.uiCodecEndpoint) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  return args;
}

export async function startTemporalServer(cli: TemporalCli, options: TemporalServerOptions): Promise<RunningTemporal> {
  const address = `127.0.0.1:${options.port}`;
  const uiUrl = options.uiPort === null ? null : `http://127.0.0.1:${options.uiPort}`;

  if (cli.kind === 'sdk-download') {
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        ip: '127.0.0.1',
        port: options.port,
        ui: options.uiPort !== null,
        uiPort: options.uiPort ?? undefined,
        dbFilename: options.dbFilename ?? undefined,
        extraArgs: devServerArgs(options).slice(2),
      },
    });
    return { address, uiUrl, pid: null, stop: () => env.teardown() };
  }

  const log = fs.openSync(options.logFile, 'a');
  const child = spawn(
    cli.path,
    [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(options.port),
      ...(options.uiPort === null ? ['--headless'] : ['--ui-port', String(options.uiPort)]),
      ...devServerArgs(options),
    ],
    { stdio: ['ignore', log, log], detached: options.detached ?? false },
  );
  fs.closeSync(log);
  try {
    await waitUntilServing(address, child, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message} (server log: ${options.logFile})`);
  }
  return {
    address,
    uiUrl,
    pid: child.pid ?? null,
    stop: ({ kill = false } = {}) => stopChild(child, kill ? 'SIGKILL' : 'SIGTERM', 10_000),
  };
}
