/**
 * The product's own worker and API, started in the test process against the run's real Temporal
 * server and PostgreSQL database, on a task queue of the test file's own.
 */
import type { OidcSettings } from '../../api/oidc';
import { provinceName } from '../../domain/provinces';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Role } from '../../domain/pilot';
import { createDocumentStore } from '../../lib/storage';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createApp } from '../../api/app';
import type { Endpoint } from '../../api/registry';
import { createDb, type Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { createPilotWorker } from '../../worker/worker';
import { installQuietRuntime } from './runtime';
import { startSmtp, type TestSmtp } from './smtp';
import { createMailer } from '../../lib/mailer';
import { startOutboxRelay } from '../../lib/outbox-relay';
import { AesGcmCodec, CodecKeys } from '../../lib/codec';
import { apiConnectionOptions, dataConverterFor } from '../../lib/temporal';
import { cloneTestDatabase, dropTestDatabase } from './environment';

export const TEST_USERS = {
  admin: 'admin-ops',
  staff: 'clerk-li',
  reviewer: 'expert-panel',
  finance: 'cashier-zhang',
  auditor: 'auditor-wu',
} as const satisfies Record<Role, string>;

export interface Stack {
  baseUrl: string;
  /** The stack's own database (worker processes of fault tests connect to it). */
  databaseUrl: string;
  /** Bearer tokens by role; requests default to the admin's. */
  tokens: Record<Role, string>;
  storageDir: string;
  /** Every endpoint the API serves, with the roles it names. */
  endpoints: Endpoint[];
  smtp: TestSmtp;
  client: Client;
  db: Db;
  taskQueue: string;
  stop(): Promise<void>;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (its globalSetup starts the servers)`);
  return value;
}

/**
 * Test-only encryption keys, committed on purpose: the replay fixtures were recorded with them.
 * Never use them anywhere else.
 */
export const TEST_CODEC_KEYS = CodecKeys.parse(
  JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'codec-keys.json'), 'utf8')),
);

export interface StackOptions {
  /** Another Temporal server than the run's (the browser test starts one with the Web UI). */
  temporalAddress?: string;
  apiPort?: number;
  codecCorsOrigins?: string[];
  /** false: no worker in this process (fault tests run worker processes of their own). */
  worker?: boolean;
  /** The worker's and relay's database URL given the stack's, e.g. through a TCP proxy the test cuts. */
  workerDatabaseUrl?: (databaseUrl: string) => string;
  /** The relay's SMTP server (default: the stack's own, `smtp.url`). */
  smtpUrl?: string;
  /** The API's database URL given the stack's, e.g. through a TCP proxy the test cuts (`db` stays direct). */
  apiDatabaseUrl?: (databaseUrl: string) => string;
  /** How long a staff action waits for its Update's result before answering 202 (default: the product's). */
  updateResultMs?: number;
  /**
   * The public endpoints' limit per client (every test request comes from 127.0.0.1): by default
   * high enough that no test trips it by accident, while every request still passes through it.
   */
  publicRateLimitPerMinute?: number;
  /** The deployment reads e-mail (as with IMAP_HOST set): calls with `intake` start their intake. */
  intake?: boolean;
  /** The API also accepts access tokens of this identity provider (as with OIDC_ISSUER_URL set). */
  oidc?: OidcSettings;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  installQuietRuntime();
  const address = options.temporalAddress ?? required('TEST_TEMPORAL_ADDRESS');
  const codec = new AesGcmCodec(TEST_CODEC_KEYS);
  const taskQueue = `test-${randomUUID()}`;
  // Each stack has a database of its own (its outbox relay must see only its own mail), cloned
  // from the run's migrated template; scripts that run one stack use the run's database.
  const template = process.env.TEST_DATABASE_TEMPLATE;
  const ownDatabase = template ? `${template.replace(/_template$/, '')}_s${randomUUID().slice(0, 8)}` : null;
  const databaseUrl = ownDatabase ? await cloneTestDatabase(template!, ownDatabase) : required('TEST_DATABASE_URL');
  const db = createDb(databaseUrl);
  const workerDatabaseUrl = options.workerDatabaseUrl?.(databaseUrl);
  const workerDb = workerDatabaseUrl ? createDb(workerDatabaseUrl) : db;
  const smtp = await startSmtp();
  const mailer = createMailer({
    smtpUrl: options.smtpUrl ?? smtp.url,
    from: 'reform-office@test.invalid',
    outboxDir: '',
  });
  const workerConnection = options.worker === false ? null : await NativeConnection.connect({ address });
  const worker = workerConnection
    ? await createPilotWorker({
        connection: workerConnection,
        namespace: 'default',
        taskQueue,
        db: workerDb,
        codec,
        workflowBundle: { codePath: required('TEST_WORKFLOW_BUNDLE') },
        shutdownGraceTime: '2s',
      })
    : null;
  const running = worker?.run();
  // Compressed like the rest of a test's timeline: mail goes out within a tenth of a second.
  const relay = worker
    ? startOutboxRelay({
        db: workerDb,
        mailer,
        log: createLogger('relay-test', 'silent'),
        pollMs: 100,
        maxBackoffMs: 1000,
        leaseMs: 5000,
      })
    : null;

  // The API's connection as the product makes it (deadlines, bounded retries, fast reconnect).
  const connection = await Connection.connect({ address, ...apiConnectionOptions() });
  const apiDatabaseUrl = options.apiDatabaseUrl?.(databaseUrl);
  const apiDb = apiDatabaseUrl ? createDb(apiDatabaseUrl) : db;
  const client = new Client({ connection, namespace: 'default', dataConverter: dataConverterFor(codec) });
  const tokens = Object.fromEntries(
    (Object.keys(TEST_USERS) as Role[]).map((role) => [role, `test-${role}-${randomUUID()}`]),
  ) as Record<Role, string>;
  const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-documents-'));
  const app = createApp({
    client,
    db: apiDb,
    taskQueue,
    uiUrl: 'http://127.0.0.1:8233',
    log: createLogger('api-test', 'silent'),
    tokens: (Object.keys(TEST_USERS) as Role[]).map((role) => ({ token: tokens[role], role, user: TEST_USERS[role] })),
    store: createDocumentStore(storageDir),
    pdfMaxBytes: 64 * 1024,
    codec,
    codecCorsOrigins: options.codecCorsOrigins ?? ['http://127.0.0.1:8233'],
    updateResultMs: options.updateResultMs,
    publicRateLimitPerMinute: options.publicRateLimitPerMinute ?? 1_000_000,
    intake: options.intake,
    oidc: options.oidc,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(options.apiPort ?? 0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    databaseUrl,
    tokens,
    storageDir,
    endpoints: app.locals.endpoints as Endpoint[],
    smtp,
    client,
    db,
    taskQueue,
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      worker?.shutdown();
      await running;
      await relay?.stop();
      await connection.close();
      await workerConnection?.close();
      await db.$disconnect();
      if (workerDb !== db) await workerDb.$disconnect();
      if (apiDb !== db) await apiDb.$disconnect();
      if (ownDatabase) await dropTestDatabase(ownDatabase);
      mailer.close();
      await smtp.close();
      fs.rmSync(storageDir, { recursive: true, force: true });
    },
  };
}

export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  contentType: string | null;
  /** Every response header, by lower-case name. */
  headers: Record<string, string>;
  body: T;
}

export interface RequestOptions {
  /** Act as this role (default admin); null sends no token. */
  as?: Role | null;
  /** Defaults to a fresh key on POST; null sends none. */
  idempotencyKey?: string | null;
  headers?: Record<string, string>;
}

/** A request over real HTTP, as a user of one role, with a fresh Idempotency-Key on writes. */
export async function call<T = Record<string, unknown>>(
  stack: Pick<Stack, 'baseUrl' | 'tokens'>,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  options: RequestOptions = {},
): Promise<ApiAnswer<T>> {
  const role = options.as === undefined ? 'admin' : options.as;
  const key = options.idempotencyKey === undefined ? (method === 'POST' ? randomUUID() : null) : options.idempotencyKey;
  const isForm = body instanceof FormData;
  const response = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: {
      ...(body === undefined || isForm ? {} : { 'content-type': 'application/json' }),
      ...(role ? { authorization: `Bearer ${stack.tokens[role]}` } : {}),
      ...(key ? { 'idempotency-key': key } : {}),
      ...options.headers,
    },
    body: body === undefined ? undefined : isForm ? body : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    // HTML and CSV answers stay text.
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    headers: Object.fromEntries(response.headers),
    body: parsed as T,
  };
}

/**
 * A call whose deadline is `secondsFromNow` away and whose other durations are long unless a test
 * compresses them: the compressed timeline of a test.
 */
export function compressedCall(id: string, secondsFromNow: number, timing: Record<string, unknown> = {}, extra = {}) {
  return {
    id,
    name: `测试申报通知 ${id} (test call)`,
    submissionDeadline: new Date(Date.now() + secondsFromNow * 1000).toISOString(),
    funding: { minFen: 300_000_00, maxFen: 400_000_00 },
    period: { start: '2020-07', end: '2021-07' },
    review: { minExpertScores: 1 },
    office: { name: '中国科协改革工作办公室', email: 'office@reform.test' },
    financeEmail: 'finance@reform.test',
    timing: {
      // Entry after the deadline of applications that arrived on time: compressed like the rest.
      entryPeriod: '1s',
      publicNoticePeriod: '1s',
      reviewWithin: '1h',
      midtermReportDueAfter: '1h',
      finalReportDueAfter: '2h',
      midtermEvaluationWithin: '1h',
      acceptanceWithin: '1h',
      reminderBefore: [],
      overdueReminderEvery: '1h',
      financeConfirmationWithin: '1h',
      rectificationRounds: 0,
      rectificationPeriod: '1h',
      ...timing,
    },
    ...extra,
  };
}

export function registration(callId: string, unitCode: string, province = '浙江') {
  return {
    callId,
    pilotUnit: { code: unitCode, name: `${unitCode} 市科协` },
    // The provincial association of the pilot unit's province applies (申报单位).
    applicantUnit: { name: `${provinceName(province)}科学技术协会` },
    province,
    contacts: [
      { name: '王主任', email: `head-${unitCode}@pilot.test` },
      { name: '李处长', email: 'head@zjkx.test' },
    ],
  };
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
