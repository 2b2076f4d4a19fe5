/**
 * The stack on the Temporal dev server against the stack on the Temporal cluster, on this machine,
 * both brought up by `scripts/up.sh` as an operator does (the cluster with `--cluster`), each on
 * fresh databases on the PostgreSQL at TEST_POSTGRES_URL:
 *
 *   npx tsx bench/cluster.ts [lifecycles=20] [concurrency=5]
 *
 * For each mode: start-up time; the product's lifecycles through its API(s) (the cluster test's
 * path: every fourth midterm fails) and, on the same Temporal in the same run, the bare baseline's
 * (bench/baseline: the same Updates, no-op activities, one 1 s timer; its worker connects as the
 * product's does, token included); CPU seconds per lifecycle by process; memory (RSS) by process
 * afterwards. Prints a markdown table; appends a JSON line to bench/results/cluster.jsonl.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import type { Role } from '../domain/pilot';
import { developmentIdentity } from '../lib/identity/files';
import { resourceIndicatorFor } from '../lib/identity/provider';
import { connectConnection } from '../lib/temporal';
import { clusterCertificates, freeFixedPort } from '../scripts/temporal-cluster';
import { BalancedApi } from '../test/support/balanced-api';
import { compressedCall, uniqueId } from '../test/support/stack';
import { completeBare, startBare, submitBare } from './baseline/client';
import {
  bundleBareWorkflow,
  cpuSeconds,
  fixed,
  onCleanup,
  percentiles,
  pool,
  rssMiB,
  runBench,
  startBareWorker,
  table,
  writeResult,
} from './support';

const ROOT = path.resolve(__dirname, '..');
const PUBLIC_NOTICE_MS = 1000;
type Mode = 'dev' | 'cluster';

interface Figures {
  mode: Mode;
  startupSeconds: number;
  product: { perSecond: number; p50Ms: number; p95Ms: number; maxMs: number };
  bare: { perSecond: number; cpuPerLifecycle: { temporal: number; worker: number } };
  /** CPU seconds per product lifecycle, by process (Temporal's summed over its services). */
  cpuPerLifecycle: Record<string, number>;
  rssMiB: Record<string, number>;
}

const adminUrl = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function admin(sql: string): Promise<void> {
  const pg = new PgClient({ connectionString: adminUrl });
  await pg.connect();
  try {
    await pg.query(sql);
  } finally {
    await pg.end();
  }
}

/** The processes up.sh recorded, by name (its own excepted). */
function processes(dataDir: string): Record<string, number> {
  const dir = path.join(dataDir, 'pids');
  return Object.fromEntries(
    fs
      .readdirSync(dir)
      .filter((file) => file !== 'up.json')
      .map((file) => [
        file.replace(/\.json$/, ''),
        (JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { pid: number }).pid,
      ]),
  );
}

/** Temporal's processes under one name: the dev server, or the cluster's five services. */
const group = (name: string) => (name.startsWith('temporal-') && name !== 'temporal-ui' ? 'temporal' : name);

async function measure(mode: Mode, lifecycles: number, concurrency: number, bareBundle: string): Promise<Figures> {
  const run = `bench_${mode}_${Date.now()}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${mode}-`));
  await admin(`CREATE DATABASE "${run}"`);
  const appUrl = new URL(adminUrl);
  appUrl.pathname = `/${run}`;
  const ports = new Set<number>();
  const apiPorts =
    mode === 'cluster' ? [await freeFixedPort(ports), await freeFixedPort(ports)] : [await freeFixedPort(ports)];
  const temporalPort = await freeFixedPort(ports);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    DATABASE_URL: appUrl.toString(),
    TEMPORAL_DATABASE: `${run}_temporal`,
    TEMPORAL_VISIBILITY_DATABASE: `${run}_visibility`,
    API_PORTS: apiPorts.join(','),
    TEMPORAL_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(await freeFixedPort(ports)),
    IDP_PORT: String(await freeFixedPort(ports)),
    CODEC_TLS_PORT: String(await freeFixedPort(ports)),
    WORKER_METRICS_ADDRESS: '',
    LOG_LEVEL: 'warn',
  };
  for (const name of ['TEMPORAL_ADDRESS', 'API_TOKENS', 'API_TOKENS_FILE', 'PAYLOAD_CODEC_KEYS_FILE']) delete env[name];
  const began = performance.now();
  const up: ChildProcess = spawn('bash', ['scripts/up.sh', ...(mode === 'cluster' ? ['--cluster'] : [])], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  up.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  up.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = async () => {
    if (up.exitCode === null && up.signalCode === null) {
      const exited = new Promise((resolve) => up.once('exit', resolve));
      process.kill(up.pid!, 'SIGTERM');
      await exited;
    }
    for (const database of [run, `${run}_temporal`, `${run}_visibility`]) {
      await admin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => undefined);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  onCleanup(stop);
  try {
    while (!output.includes('the stack is up')) {
      if (up.exitCode !== null || up.signalCode !== null) throw new Error(`up.sh (${mode}) exited:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const startupSeconds = (performance.now() - began) / 1000;
    process.stderr.write(`${mode}: up in ${startupSeconds.toFixed(1)} s\n`);

    const written = JSON.parse(fs.readFileSync(path.join(dataDir, 'api-tokens.json'), 'utf8')) as {
      token: string;
      role: Role;
    }[];
    const tokens = Object.fromEntries(written.map((t) => [t.role, t.token])) as Record<Role, string>;
    const api = new BalancedApi(
      apiPorts.map((port) => `http://127.0.0.1:${port}`),
      tokens,
    );
    // The bare baseline connects as the product's worker does: in the cluster, with the service token.
    const temporalEnv: Record<string, string> = { TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}` };
    if (mode === 'cluster') {
      const identity = developmentIdentity({ dataDir, port: Number(env.IDP_PORT) });
      const tls = clusterCertificates(path.join(dataDir, 'temporal-cluster', 'tls'));
      Object.assign(temporalEnv, {
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: tls.caFile,
        TEMPORAL_TLS_SERVER_NAME: tls.serverName,
        TEMPORAL_OAUTH_TOKEN_URL: identity.tokenUrl,
        TEMPORAL_OAUTH_CLIENT_ID: identity.serviceClient.clientId,
        TEMPORAL_OAUTH_CLIENT_SECRET_FILE: path.join(dataDir, 'temporal-service-client-secret'),
        TEMPORAL_OAUTH_RESOURCE: resourceIndicatorFor(identity.audience),
      });
    }
    const bareWorker = await startBareWorker(temporalEnv.TEMPORAL_ADDRESS!, bareBundle, temporalEnv);
    onCleanup(() => bareWorker.stop());
    const bare = await connectConnection({ env: { ...process.env, ...temporalEnv } });
    onCleanup(() => bare.close());
    const bareClient = new Client({ connection: bare.connection, namespace: bare.namespace });
    const bareLifecycle = async () => {
      const handle = await startBare(bareClient, bareWorker.taskQueue, PUBLIC_NOTICE_MS);
      await submitBare(handle);
      await completeBare(handle);
    };

    const callId = uniqueId('call');
    const created = await api.request('POST', '/calls', compressedCall(callId, 24 * 3600));
    if (created.status !== 201) throw new Error(`POST /calls: ${created.status}`);
    // Warm-up of each (JIT, connections, caches).
    await api.lifecycles(callId, concurrency, concurrency);
    await pool(concurrency, concurrency, bareLifecycle);

    const pids = processes(dataDir);
    const cpuBefore = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid) ?? 0]));
    const product = await api.lifecycles(callId, lifecycles, concurrency);
    const cpu: Record<string, number> = {};
    for (const [name, pid] of Object.entries(pids)) {
      const used = ((cpuSeconds(pid) ?? 0) - cpuBefore[name]!) / lifecycles;
      cpu[group(name)] = (cpu[group(name)] ?? 0) + used;
    }
    const temporalPids = Object.entries(pids).filter(([name]) => group(name) === 'temporal');
    const temporalCpu = () => temporalPids.reduce((sum, [, pid]) => sum + (cpuSeconds(pid) ?? 0), 0);
    const bareCpuBefore = { temporal: temporalCpu(), worker: cpuSeconds(bareWorker.pid) ?? 0 };
    const bareBegan = performance.now();
    await pool(lifecycles, concurrency, bareLifecycle);
    const bareSeconds = (performance.now() - bareBegan) / 1000;
    const bareCpu = {
      temporal: (temporalCpu() - bareCpuBefore.temporal) / lifecycles,
      worker: ((cpuSeconds(bareWorker.pid) ?? 0) - bareCpuBefore.worker) / lifecycles,
    };
    const rss = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, Math.round(rssMiB(pid))]));
    const latency = percentiles(product.durationsMs);

    await bare.close();
    await bareWorker.stop();
    return {
      mode,
      startupSeconds,
      product: {
        perSecond: lifecycles / product.seconds,
        p50Ms: latency.p50,
        p95Ms: latency.p95,
        maxMs: latency.max,
      },
      bare: { perSecond: lifecycles / bareSeconds, cpuPerLifecycle: bareCpu },
      cpuPerLifecycle: cpu,
      rssMiB: rss,
    };
  } finally {
    await stop();
  }
}

async function main(): Promise<void> {
  const [lifecycles = 20, concurrency = 5] = process.argv.slice(2).map(Number);
  if (!(lifecycles! >= 2 && concurrency! >= 1))
    throw new Error('usage: npx tsx bench/cluster.ts [lifecycles] [concurrency]');
  const bareBundle = await bundleBareWorkflow();
  onCleanup(async () => fs.rmSync(bareBundle, { force: true }));
  const dev = await measure('dev', lifecycles!, concurrency!, bareBundle);
  const cluster = await measure('cluster', lifecycles!, concurrency!, bareBundle);

  const sum = (figures: Figures, pick: (name: string) => boolean) =>
    Object.entries(figures.rssMiB)
      .filter(([name]) => pick(name))
      .reduce((s, [, v]) => s + v, 0);
  const isTemporal = (name: string) => group(name) === 'temporal';
  const isProduct = (name: string) => /^(api|worker)(-\d)?$/.test(name);
  const row = (label: string, pick: (f: Figures) => string) => [label, pick(dev), pick(cluster)];
  const cpuMs = (f: Figures, name: string) => `${fixed((f.cpuPerLifecycle[name] ?? 0) * 1000, 0)} ms`;
  console.log(
    table(
      ['', 'dev server (1 API, 1 worker)', 'cluster (5 services on PostgreSQL, 2 APIs, 2 workers)'],
      [
        row('start-up of `up.sh` (s)', (f) => fixed(f.startupSeconds, 1)),
        row('product lifecycles/s', (f) => fixed(f.product.perSecond, 2)),
        row('bare baseline lifecycles/s', (f) => fixed(f.bare.perSecond, 2)),
        row('product ÷ bare', (f) => fixed(f.product.perSecond / f.bare.perSecond, 2)),
        row('lifecycle p50 / p95 / max (s)', (f) =>
          [f.product.p50Ms, f.product.p95Ms, f.product.maxMs].map((ms) => fixed(ms / 1000, 1)).join(' / '),
        ),
        row('CPU per lifecycle: Temporal', (f) => cpuMs(f, 'temporal')),
        row('CPU per bare lifecycle: Temporal, bare worker', (f) =>
          [f.bare.cpuPerLifecycle.temporal, f.bare.cpuPerLifecycle.worker]
            .map((c) => `${fixed(c * 1000, 0)} ms`)
            .join(', '),
        ),
        row(
          'CPU per lifecycle: workers',
          (f) => `${fixed(((f.cpuPerLifecycle.worker ?? 0) + (f.cpuPerLifecycle['worker-2'] ?? 0)) * 1000, 0)} ms`,
        ),
        row(
          'CPU per lifecycle: APIs',
          (f) => `${fixed(((f.cpuPerLifecycle.api ?? 0) + (f.cpuPerLifecycle['api-2'] ?? 0)) * 1000, 0)} ms`,
        ),
        row('RSS: Temporal (MiB)', (f) => String(sum(f, isTemporal))),
        row('RSS: APIs + workers (MiB)', (f) => String(sum(f, isProduct))),
      ],
    ),
  );
  const file = writeResult('cluster', { lifecycles, concurrency, dev, cluster });
  process.stderr.write(`appended to ${path.relative(ROOT, file)}\n`);
}

runBench(main);
