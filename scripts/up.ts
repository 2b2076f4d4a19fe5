/**
 * Brings the whole stack up for a person at a terminal:
 *   Temporal  the dev server with the Web UI (:8233), persisted under .data/ — unless TEMPORAL_ADDRESS
 *             points at a cluster already
 *   database  DATABASE_URL, or else an embedded PostgreSQL (PGlite) under .data/
 *   schema    prisma migrate deploy, plus the seeded default call (2020 second batch)
 *   worker    and API, as child processes
 * Ctrl-C (or SIGTERM) stops API, worker, Temporal and database in that order.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CallInput, SECOND_BATCH_2020 } from '../domain/call';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import { newCodecKeys } from '../lib/codec';
import { callRecord } from '../lib/calls';
import { createDb } from '../lib/db';
import { describeCli, resolveTemporalCli } from './temporal-cli';
import { startTemporalServer, type RunningTemporal } from './temporal-server';

const ROOT = path.resolve(__dirname, '..');
const DATA = path.join(ROOT, '.data');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

const say = (line: string) => console.log(`[up] ${line}`);
const stops: { name: string; stop: () => Promise<void> }[] = [];

async function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitForPort(port: number, child: ChildProcess, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await portAnswers(port))) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${what} did not open port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Children get their own process group, so Ctrl-C reaches only us and we stop them in order. */
function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  stops.push({
    name,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const killer = setTimeout(() => child.kill('SIGKILL'), 45_000);
        child.once('exit', () => {
          clearTimeout(killer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  });
  child.once('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited unexpectedly (${code ?? signal}); stopping the stack`);
      void shutdown(1);
    }
  });
  return child;
}

async function embeddedDatabase(): Promise<string> {
  const port = Number(process.env.PGLITE_PORT ?? 5433);
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  if (await portAnswers(port)) throw new Error(`port ${port} is taken; set PGLITE_PORT or DATABASE_URL`);
  say(`DATABASE_URL is not set: starting the embedded PostgreSQL (PGlite) on ${port}, data in .data/pglite`);
  const server = start(
    'embedded database',
    process.execPath,
    [
      path.join(ROOT, 'node_modules', '@electric-sql', 'pglite-socket', 'dist', 'scripts', 'server.js'),
      `--db=${path.join(DATA, 'pglite')}`,
      `--port=${port}`,
      '--host=127.0.0.1',
      '--max-connections=10',
    ],
    process.env,
  );
  await waitForPort(port, server, 'the embedded database');
  return url;
}

function migrate(databaseUrl: string): void {
  say('applying database migrations (prisma migrate deploy)');
  const result = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'prisma'), ['migrate', 'deploy'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (result.status !== 0) throw new Error('prisma migrate deploy failed');
}

async function seed(databaseUrl: string): Promise<void> {
  const db = createDb(databaseUrl);
  try {
    const call = CallInput.parse(SECOND_BATCH_2020);
    await db.call.upsert({
      where: { id: call.id },
      update: {},
      create: callRecord(call),
    });
  } finally {
    await db.$disconnect();
  }
}

/** Development payload-encryption keys, made once per machine; production sets PAYLOAD_CODEC_KEYS(_FILE). */
function devCodecKeys(): NodeJS.ProcessEnv {
  if (process.env.PAYLOAD_CODEC_KEYS || process.env.PAYLOAD_CODEC_KEYS_FILE) return {};
  const file = path.join(DATA, 'codec-keys.json');
  if (!fs.existsSync(file)) fs.writeFileSync(file, `${JSON.stringify(newCodecKeys(), null, 2)}\n`, { mode: 0o600 });
  say(`payload encryption keys (development): ${path.relative(ROOT, file)}`);
  return { PAYLOAD_CODEC_KEYS_FILE: file };
}

/** Development tokens, one per role, made once per machine; production sets API_TOKENS(_FILE). */
function devTokens(): NodeJS.ProcessEnv {
  if (process.env.API_TOKENS || process.env.API_TOKENS_FILE) return {};
  const file = path.join(DATA, 'api-tokens.json');
  if (!fs.existsSync(file)) {
    const roles = ['admin', 'staff', 'reviewer', 'finance', 'auditor'];
    const tokens = roles.map((role) => ({ token: randomBytes(24).toString('base64url'), role, user: `dev-${role}` }));
    fs.writeFileSync(file, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600 });
  }
  say(`API tokens for each role (development): ${path.relative(ROOT, file)}`);
  return { API_TOKENS_FILE: file };
}

async function temporal(apiPort: number): Promise<{ env: NodeJS.ProcessEnv; uiUrl: string }> {
  if (process.env.TEMPORAL_ADDRESS) {
    say(`using the Temporal service at ${process.env.TEMPORAL_ADDRESS}`);
    return { env: {}, uiUrl: process.env.TEMPORAL_UI_URL ?? '(the cluster’s own Web UI)' };
  }
  const port = Number(process.env.TEMPORAL_PORT ?? 7233);
  const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? 8233);
  for (const p of [port, uiPort]) {
    if (await portAnswers(p))
      throw new Error(`port ${p} is taken (another Temporal?); set TEMPORAL_PORT/TEMPORAL_UI_PORT`);
  }
  const cli = resolveTemporalCli(say);
  say(describeCli(cli));
  say('starting the Temporal dev server (persisted in .data/temporal.db)');
  const server: RunningTemporal = await startTemporalServer(cli, {
    port,
    uiPort,
    dbFilename: path.join(DATA, 'temporal.db'),
    logFile: path.join(DATA, 'temporal.log'),
    searchAttributes: SEARCH_ATTRIBUTES,
    uiCodecEndpoint: `http://127.0.0.1:${apiPort}/codec`,
  });
  stops.push({ name: 'Temporal', stop: () => server.stop() });
  return { env: { TEMPORAL_ADDRESS: server.address }, uiUrl: server.uiUrl ?? '' };
}

let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('stopping...');
    for (const { name, stop } of [...stops].reverse()) {
      await stop();
      say(`${name} stopped`);
    }
  }
  process.exit(code);
}

async function main(): Promise<void> {
  const began = Date.now();
  fs.mkdirSync(DATA, { recursive: true });
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  const databaseUrl = process.env.DATABASE_URL ?? (await embeddedDatabase());
  migrate(databaseUrl);
  await seed(databaseUrl);
  const apiPort = Number(process.env.API_PORT ?? 3000);
  const { env: temporalEnv, uiUrl } = await temporal(apiPort);

  const env = {
    ...process.env,
    ...temporalEnv,
    ...devTokens(),
    ...devCodecKeys(),
    DATABASE_URL: databaseUrl,
    API_PORT: String(apiPort),
    TEMPORAL_UI_URL: uiUrl,
  };
  start('worker', TSX, ['worker/main.ts'], env);
  const api = start('API', TSX, ['api/main.ts'], env);
  await waitForPort(apiPort, api, 'the API');

  say(`the stack is up after ${((Date.now() - began) / 1000).toFixed(1)} s:`);
  say(`  API            http://127.0.0.1:${apiPort}  (docs: http://127.0.0.1:${apiPort}/docs)`);
  say(`  Temporal Web UI ${uiUrl}`);
  say('Ctrl-C stops everything.');
}

main().catch((error: unknown) => {
  console.error(`[up] ${(error as Error).message}`);
  void shutdown(1);
});
