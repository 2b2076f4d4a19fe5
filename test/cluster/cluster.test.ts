/**
 * The product on a real Temporal cluster: `scripts/up.sh --cluster` as an operator runs it, on a
 * fresh set of databases (the application's, Temporal's persistence and its visibility), with the
 * server's five services as processes of their own, two workers and two APIs. Twenty whole
 * lifecycles go through the two APIs alternately, as a load balancer would send them; meanwhile a
 * worker and an API are killed with SIGKILL and the history service is restarted. Afterwards every
 * pilot is closed, the ledger holds exactly what the decisions say, visibility on PostgreSQL finds
 * the pilots by their search attributes, and the Temporal server itself refuses the auditor's
 * token a terminate and a signal. Figures (start-up, memory per process, the run) go to
 * test-artifacts/cluster-figures.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, isGrpcServiceError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Client as PgClient } from 'pg';
import type { Role } from '../../domain/pilot';
import { AesGcmCodec, loadCodecKeys } from '../../lib/codec';
import { dataConverterFor } from '../../lib/temporal';
import { developmentIdentity, ensureIdentityFiles } from '../../lib/identity/files';
import { resourceIndicatorFor } from '../../lib/identity/provider';
import { requestTemporalToken } from '../../lib/temporal-token';
import { clientTls, clusterCertificates, freeFixedPort } from '../../scripts/temporal-cluster';
import { findLeftovers, stopLeftover } from '../../scripts/pid-files';
import { ARTIFACTS } from '../support/environment';
import { launchChromium, signInOnPage, toSignInPage } from '../support/browser';
import { signInAt } from '../support/identity';
import { AMOUNT_FEN, BalancedApi, failsMidterm } from '../support/balanced-api';
import { compressedCall, uniqueId } from '../support/stack';

const ROOT = path.resolve(__dirname, '..', '..');
const LIFECYCLES = 20;
const CONCURRENCY = 5;

const adminUrl = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const run = `cluster_${Date.now()}_${process.pid}`;
const databases = { app: run, temporal: `${run}_temporal`, visibility: `${run}_visibility` };

let dataDir: string;
let up: ChildProcess;
let output = '';
let apiUrls: string[];
let tokens: Record<Role, string>;
let temporalAddress: string;
let uiUrl: string;
let idpPort: number;
let operatorClient: Client;
const figures: Record<string, unknown> = {};

async function admin<T>(work: (pg: PgClient) => Promise<T>, database?: string): Promise<T> {
  const url = new URL(adminUrl);
  if (database) url.pathname = `/${database}`;
  const pg = new PgClient({ connectionString: url.toString() });
  await pg.connect();
  try {
    return await work(pg);
  } finally {
    await pg.end();
  }
}

/** TLS to the cluster's frontend, trusting the stack's development CA (made by up.sh). */
const frontendTls = () => clientTls(clusterCertificates(path.join(dataDir, 'temporal-cluster', 'tls')));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PidRecord {
  pid: number;
}
const pidOf = (name: string) =>
  (JSON.parse(fs.readFileSync(path.join(dataDir, 'pids', `${name}.json`), 'utf8')) as PidRecord).pid;

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (up.exitCode !== null || up.signalCode !== null)
      throw new Error(`up.sh exited while waiting for ${what}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${output.slice(-4000)}`);
    await sleep(200);
  }
}

beforeAll(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-'));
  await admin((pg) => pg.query(`CREATE DATABASE "${databases.app}"`));
  const appUrl = new URL(adminUrl);
  appUrl.pathname = `/${databases.app}`;
  // Below the range outgoing connections take ports from: nothing takes them before up.sh binds them.
  const ports = new Set<number>();
  const apiPorts = [await freeFixedPort(ports), await freeFixedPort(ports)];
  apiUrls = apiPorts.map((port) => `http://127.0.0.1:${port}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    DATABASE_URL: appUrl.toString(),
    TEMPORAL_DATABASE: databases.temporal,
    TEMPORAL_VISIBILITY_DATABASE: databases.visibility,
    API_PORTS: apiPorts.join(','),
    TEMPORAL_PORT: String(await freeFixedPort(ports)),
    TEMPORAL_UI_PORT: String(await freeFixedPort(ports)),
    IDP_PORT: String(await freeFixedPort(ports)),
    CODEC_TLS_PORT: String(await freeFixedPort(ports)),
    WORKER_METRICS_ADDRESS: '',
    LOG_LEVEL: 'warn',
  };
  for (const name of [
    'TEMPORAL_ADDRESS',
    'API_TOKENS',
    'API_TOKENS_FILE',
    'PAYLOAD_CODEC_KEYS',
    'PAYLOAD_CODEC_KEYS_FILE',
  ]) {
    delete env[name];
  }
  const began = Date.now();
  up = spawn('bash', ['scripts/up.sh', '--cluster'], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  up.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  up.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitFor('the stack', () => output.includes('the stack is up'), 300_000);
  figures.startupSeconds = (Date.now() - began) / 1000;
  temporalAddress = `127.0.0.1:${env.TEMPORAL_PORT}`;
  uiUrl = `http://127.0.0.1:${env.TEMPORAL_UI_PORT}`;
  idpPort = Number(env.IDP_PORT);

  const written = JSON.parse(fs.readFileSync(path.join(dataDir, 'api-tokens.json'), 'utf8')) as {
    token: string;
    role: Role;
  }[];
  tokens = Object.fromEntries(written.map((t) => [t.role, t.token])) as Record<Role, string>;

  // The operator's own token (namespace admin), as the launcher registered the namespace with.
  const identity = developmentIdentity({ dataDir, port: Number(env.IDP_PORT) });
  const token = await requestTemporalToken({
    tokenUrl: identity.tokenUrl,
    ...identity.operatorClient,
    resource: resourceIndicatorFor(identity.audience),
  });
  // With the stack's payload keys, as an operator reads the memo and results.
  const keys = loadCodecKeys({ PAYLOAD_CODEC_KEYS_FILE: path.join(dataDir, 'codec-keys.json') })!;
  operatorClient = new Client({
    connection: await Connection.connect({ address: temporalAddress, apiKey: token.accessToken, tls: frontendTls() }),
    dataConverter: dataConverterFor(new AesGcmCodec(keys)),
  });
}, 360_000);

afterAll(async () => {
  await operatorClient?.connection.close();
  if (up && up.exitCode === null && up.signalCode === null) {
    // A clean stop, or SIGKILL after a minute; then whatever a kill left running, by its pid files.
    const stopped = new Promise((resolve) => up.once('exit', resolve));
    process.kill(up.pid!, 'SIGTERM');
    const timer = setTimeout(() => up.kill('SIGKILL'), 60_000);
    await stopped;
    clearTimeout(timer);
  }
  const pids = path.join(dataDir, 'pids');
  const recorded = fs.existsSync(pids) ? fs.readdirSync(pids).map((file) => file.replace(/\.json$/, '')) : [];
  for (const leftover of findLeftovers(dataDir, recorded)) {
    await stopLeftover(leftover, 'SIGKILL', 5000);
  }
  up?.stdout?.destroy();
  up?.stderr?.destroy();
  fs.writeFileSync(path.join(ARTIFACTS, 'cluster-up.log'), output);
  fs.writeFileSync(path.join(ARTIFACTS, 'cluster-figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
  for (const database of Object.values(databases)) {
    await admin((pg) => pg.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`)).catch(() => undefined);
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

let api: BalancedApi;
let pilotIds: string[] = [];
let callId: string;

test('20 lifecycles through two APIs while a worker and an API are killed and history restarts: all closed, ledger exact', async () => {
  callId = uniqueId('call');
  api = new BalancedApi(apiUrls, tokens);
  const created = await api.request('POST', '/calls', compressedCall(callId, 600));
  expect(created.status).toBe(201);

  const killedWorker = pidOf('worker');
  const killedApi = pidOf('api-2');
  const history = pidOf('temporal-history');
  let done = 0;
  const doneAtFault = { kills: LIFECYCLES, history: LIFECYCLES };
  const faults = (async () => {
    // In the middle of the run: a third of the lifecycles finished.
    await waitFor('a third of the lifecycles', () => done >= LIFECYCLES / 3, 300_000);
    process.kill(killedWorker, 'SIGKILL');
    process.kill(killedApi, 'SIGKILL');
    doneAtFault.kills = done;
    await sleep(3000);
    process.kill(history, 'SIGTERM');
    doneAtFault.history = done;
  })();
  const [run] = await Promise.all([api.lifecycles(callId, LIFECYCLES, CONCURRENCY, (n) => (done = n)), faults]);
  pilotIds = run.pilotIds;
  // The faults came while lifecycles were still running.
  expect(doneAtFault.kills).toBeLessThan(LIFECYCLES / 2);
  expect(doneAtFault.history).toBeLessThan(LIFECYCLES);
  figures.lifecycles = {
    count: LIFECYCLES,
    concurrency: CONCURRENCY,
    seconds: run.seconds,
    perSecond: LIFECYCLES / run.seconds,
    p50Ms: run.durationsMs[Math.floor(run.durationsMs.length / 2)],
    maxMs: run.durationsMs.at(-1),
    repeats: api.repeats,
  };

  // The supervisor started each killed process again (new pids), and the stack stayed up.
  await waitFor('the restarted worker, API and history', () => {
    try {
      return pidOf('worker') !== killedWorker && pidOf('api-2') !== killedApi && pidOf('temporal-history') !== history;
    } catch {
      return false;
    }
  });
  expect(output).toMatch(/worker \(pid \d+\) exited \(SIGKILL\); starting it again/);
  expect(output).toMatch(/Temporal history \(pid \d+\) exited/);
  expect(api.repeats.refused).toBeGreaterThan(0);

  // Every pilot's workflow completed, closed; both tranches or first + withheld tail.
  for (const [i, pilotId] of pilotIds.entries()) {
    const description = await operatorClient.workflow.getHandle(pilotId).describe();
    expect(description.status.name).toBe('COMPLETED');
    const state = await api.must('GET', `/pilots/${pilotId}`, undefined, 'auditor');
    expect(state.phase).toBe('closed');
    expect(state.tranches?.tail.status).toBe(failsMidterm(i) ? 'withheld' : 'confirmed');
  }

  // The ledger: exactly one payment row per pilot and tranche, paid once, the amounts to the fen.
  const rows = await admin(
    (pg) =>
      pg.query<{ pilot_id: string; tranche: string; kind: string; status: string; amount_fen: number }>(
        `SELECT pilot_id, tranche, kind, status, amount_fen FROM ledger_entry WHERE call_id = $1 ORDER BY pilot_id, tranche`,
        [callId],
      ),
    databases.app,
  );
  expect(rows.rows).toHaveLength(LIFECYCLES * 2);
  for (const [i, pilotId] of pilotIds.entries()) {
    const mine = rows.rows.filter((r) => r.pilot_id === pilotId);
    expect(mine).toEqual([
      { pilot_id: pilotId, tranche: 'first', kind: 'instruction', status: 'confirmed', amount_fen: AMOUNT_FEN / 2 },
      failsMidterm(i)
        ? { pilot_id: pilotId, tranche: 'tail', kind: 'withholding', status: 'withheld', amount_fen: AMOUNT_FEN / 2 }
        : { pilot_id: pilotId, tranche: 'tail', kind: 'instruction', status: 'confirmed', amount_fen: AMOUNT_FEN / 2 },
    ]);
  }
  const paid = rows.rows.filter((r) => r.kind === 'instruction').reduce((sum, r) => sum + r.amount_fen, 0);
  const withheldCount = pilotIds.filter((_, i) => failsMidterm(i)).length;
  expect(paid).toBe(LIFECYCLES * (AMOUNT_FEN / 2) + (LIFECYCLES - withheldCount) * (AMOUNT_FEN / 2));
}, 600_000);

test('visibility on PostgreSQL finds the pilots by their search attributes', async () => {
  const withheld = pilotIds.filter((_, i) => failsMidterm(i)).sort();
  const count = async (query: string) => (await operatorClient.workflow.count(query)).count;
  // Visibility is written after the fact: wait until it has caught up.
  await waitFor(
    'visibility',
    async () => (await count(`PilotCallId = "${callId}" AND PilotPhase = "closed"`)) === LIFECYCLES,
  );
  expect(await count(`PilotCallId = "${callId}" AND ExecutionStatus = "Completed"`)).toBe(LIFECYCLES);
  const found: string[] = [];
  for await (const execution of operatorClient.workflow.list({
    query: `PilotCallId = "${callId}" AND PilotTailWithheld = true`,
  })) {
    found.push(execution.workflowId);
  }
  expect(found.sort()).toEqual(withheld);
  expect(await count(`PilotCallId = "${callId}" AND PilotProvince = "330000"`)).toBe(LIFECYCLES);
});

test('the server itself refuses the auditor’s token a terminate and a signal, and lets it read; only over TLS', async () => {
  const identity = developmentIdentity({ dataDir, port: idpPort });
  const auditor = ensureIdentityFiles(dataDir).users.find((u) => u.role === 'auditor')!;
  const signedIn = await signInAt({
    issuer: identity.issuer,
    uiClient: { clientId: identity.clientId, clientSecret: identity.clientSecret },
    redirectUri: `${uiUrl}/auth/sso/callback`,
    username: auditor.username,
    password: auditor.password,
  });
  expect(signedIn.ok).toBe(true);
  if (!signedIn.ok) return;
  const connection = await Connection.connect({
    address: temporalAddress,
    apiKey: signedIn.accessToken,
    tls: frontendTls(),
  });
  try {
    // Reads are the auditor's: the execution and its history (payloads stay sealed without the keys).
    const asAuditor = new Client({ connection });
    const read = await connection.workflowService.describeWorkflowExecution({
      namespace: 'default',
      execution: { workflowId: pilotIds[0]! },
    });
    expect(read.workflowExecutionInfo?.status).toBe(
      temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED,
    );
    const history = await connection.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId: pilotIds[0]! },
    });
    expect(history.history?.events?.length).toBeGreaterThan(10);
    const refusal = async (work: () => Promise<unknown>) => {
      try {
        await work();
        return 'allowed';
      } catch (error) {
        const cause = (error as { cause?: unknown }).cause ?? error;
        return isGrpcServiceError(cause) ? cause.code : String(error);
      }
    };
    // gRPC 7: PERMISSION_DENIED, from the frontend's authorizer.
    const open = await operatorClient.workflow.start('pilot', {
      taskQueue: 'nobody-polls-this',
      workflowId: `auditor-target-${randomUUID()}`,
      args: [],
    });
    expect(await refusal(() => asAuditor.workflow.getHandle(open.workflowId).terminate('auditor tries'))).toBe(7);
    expect(await refusal(() => asAuditor.workflow.getHandle(open.workflowId).signal('anything'))).toBe(7);
    expect((await open.describe()).status.name).toBe('RUNNING');
    await open.terminate('test cleanup');
  } finally {
    await connection.close();
  }
  // Without a token nothing but the health check is served.
  const anonymous = await Connection.connect({ address: temporalAddress, tls: frontendTls() });
  try {
    await expect(anonymous.workflowService.describeNamespace({ namespace: 'default' })).rejects.toMatchObject({
      code: 7,
    });
  } finally {
    await anonymous.close();
  }
  // The frontend speaks only TLS: a token is never sent in the clear, not even by mistake.
  const plaintext = await Connection.connect({ address: temporalAddress, tls: false, connectTimeout: 2000 }).catch(
    (error: unknown) => error,
  );
  if (plaintext instanceof Connection) {
    try {
      await expect(plaintext.workflowService.getSystemInfo({})).rejects.toBeDefined();
    } finally {
      await plaintext.close();
    }
  } else {
    expect(plaintext).toBeInstanceOf(Error);
  }
});

test('the auditor signs in to the cluster’s Web UI and finds the withheld pilots: the server serves the UI with the auditor’s own token', async () => {
  const identity = developmentIdentity({ dataDir, port: idpPort });
  const auditor = ensureIdentityFiles(dataDir).users.find((u) => u.role === 'auditor')!;
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const query = `PilotCallId = '${callId}' AND PilotTailWithheld = true`;
    const list = `${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
    await toSignInPage(page, list, identity.issuer);
    await signInOnPage(page, auditor, uiUrl);
    if (!new URL(page.url()).searchParams.get('query')) await page.goto(list);
    for (const pilotId of pilotIds.filter((_, i) => failsMidterm(i))) {
      await page.getByRole('link', { name: pilotId }).first().waitFor({ timeout: 30_000 });
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'cluster-ui-auditor.png'), fullPage: true });
    // A pilot that passed its midterm is not in that list.
    expect(await page.getByRole('link', { name: pilotIds[0]! }).count()).toBe(0);
    await context.close();
  } finally {
    await browser.close();
  }
}, 120_000);

test('with the identity provider hung, pilots keep moving: workers and APIs hold their tokens, the frontend its keys', async () => {
  const idp = pidOf('idp');
  // SIGSTOP: the process is there but answers nothing (the supervisor sees no exit to act on).
  process.kill(idp, 'SIGSTOP');
  try {
    const run = await api.lifecycles(callId, 2, 2);
    for (const pilotId of run.pilotIds) {
      expect((await api.must('GET', `/pilots/${pilotId}`, undefined, 'auditor')).phase).toBe('closed');
    }
  } finally {
    process.kill(idp, 'SIGCONT');
  }
}, 120_000);

test('memory of each process of the cluster mode', () => {
  const names = fs
    .readdirSync(path.join(dataDir, 'pids'))
    .map((file) => file.replace(/\.json$/, ''))
    .filter((name) => name !== 'up');
  const memory = Object.fromEntries(names.map((name) => [name, Math.round(rssMiB(pidOf(name)))]));
  figures.rssMiB = memory;
  for (const expected of [
    'worker',
    'worker-2',
    'api',
    'api-2',
    'idp',
    'temporal-ui',
    'temporal-frontend',
    'temporal-history',
    'temporal-matching',
    'temporal-internal-frontend',
    'temporal-worker',
  ]) {
    expect(memory[expected]).toBeGreaterThan(0);
  }
  console.log(JSON.stringify(figures, null, 2));
});
