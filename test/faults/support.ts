/**
 * Small helpers shared by the fault tests: waiting through an outage, the figures a run measured,
 * and what the SMTP server received per outbox message.
 */
import fs from 'node:fs';
import path from 'node:path';
import { messageIdFor } from '../../lib/mailer';
import { ARTIFACTS } from '../support/environment';
import type { Stack } from '../support/stack';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` until it returns something other than undefined/false, treating a thrown error as
 * "not yet" (a query while the worker or Temporal is down fails). On timeout the last error is named.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError ? ` (last error: ${(lastError as Error).message ?? String(lastError)})` : '';
      throw new Error(`${what} not reached within ${timeoutMs} ms${reason}`);
    }
    await sleep(intervalMs);
  }
}

/** Runs `work` over `items` with at most `limit` at a time, keeping the order of the results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>) {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  });
  await Promise.all(lanes);
  return results;
}

export const FIGURES_FILE = path.join(ARTIFACTS, 'fault-figures.jsonl');

/** Appends one JSON line of measured figures to test-artifacts/fault-figures.jsonl and prints it. */
export function recordFigures(test: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ test, at: new Date().toISOString(), ...figures });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.appendFileSync(FIGURES_FILE, `${line}\n`);
  console.log(`fault figures: ${line}`);
}

/** The Message-ID header of a raw received mail, with its angle brackets. */
export function messageIdOf(raw: string): string | null {
  return /^Message-ID:\s*(<[^>\r\n]+>)/im.exec(raw)?.[1] ?? null;
}

export interface KeyDelivery {
  key: string;
  status: string;
  /** The Message-ID the relay recorded on the row (null until an attempt was made). */
  messageId: string | null;
  attempts: number;
  /** Mails the SMTP server received for this message, matched by content (recipients, subject, body). */
  copies: number;
  /** The distinct Message-IDs among those copies. */
  messageIds: string[];
  /** When the SMTP server received each copy (epoch ms), in order. */
  receivedAt: number[];
}

export interface MailDelivery {
  byKey: KeyDelivery[];
  /** Received mails that match no outbox row. */
  unmatched: number;
  /** The largest number of copies of one message. */
  maxCopies: number;
  /** Copies beyond the first, over all messages. */
  duplicates: number;
}

const normalized = (text: string) => text.replace(/\r\n/g, '\n').trim();
const sameRecipients = (a: readonly string[], b: readonly string[]) =>
  [...a].sort().join('\n') === [...b].sort().join('\n');

/**
 * Every outbox row of the stack's database with the mails the stack's SMTP server received for it.
 * Mails are matched to rows by what they say (recipients, subject, body), not by Message-ID, so
 * that a copy with another Message-ID would show up as a second id of the same key.
 */
export async function mailDelivery(stack: Pick<Stack, 'db' | 'smtp'>): Promise<MailDelivery> {
  const rows = await stack.db.outboxMessage.findMany({ orderBy: { id: 'asc' } });
  const received = [...stack.smtp.received];
  const claimed = new Set<number>();
  const byKey = rows.map((row) => {
    const copies = [];
    for (const [i, mail] of received.entries()) {
      if (claimed.has(i)) continue;
      if (mail.subject !== row.subject || !sameRecipients(mail.to, row.recipients)) continue;
      if (normalized(mail.text) !== normalized(row.body)) continue;
      claimed.add(i);
      copies.push(mail);
    }
    return {
      key: row.key,
      status: row.status,
      messageId: row.messageId,
      attempts: row.attempts,
      copies: copies.length,
      messageIds: [...new Set(copies.map((mail) => messageIdOf(mail.raw) ?? '(none)'))],
      receivedAt: copies.map((mail) => mail.receivedAt).sort((a, b) => a - b),
    };
  });
  return {
    byKey,
    unmatched: received.length - claimed.size,
    maxCopies: Math.max(0, ...byKey.map((k) => k.copies)),
    duplicates: byKey.reduce((sum, k) => sum + Math.max(0, k.copies - 1), 0),
  };
}

// ---- Stacks with a network a test can cut: the database under the worker, the SMTP server under the relay ----

import { Client as PgClient } from 'pg';
import { MockActivityEnvironment } from '@temporalio/testing';
import { silentLogger } from '../support/runtime';
import { startSmtp, type TestSmtp } from '../support/smtp';
import { startStack, type StackOptions } from '../support/stack';
import { proxiedUrl, startTcpProxy, targetOf, type TcpProxy } from '../support/tcp-proxy';

/** The run's PostgreSQL server: every stack's own (cloned) database lives on it. */
export function adminDatabaseUrl(): string {
  return process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
}

/**
 * A stack whose worker activities and outbox relay reach the database through a TCP proxy the test
 * can cut and restore; the API and `stack.db` stay direct. The proxy points at the server (the
 * stack's database is cloned later, on the same server), so it exists before the stack does.
 */
export async function startStackBehindDatabaseProxy(
  options: Omit<StackOptions, 'workerDatabaseUrl'> = {},
): Promise<{ stack: Stack; proxy: TcpProxy }> {
  const proxy = await startTcpProxy({ target: targetOf(adminDatabaseUrl()) });
  try {
    const stack = await startStack({ ...options, workerDatabaseUrl: (url) => proxiedUrl(url, proxy.port) });
    return { stack, proxy };
  } catch (error) {
    await proxy.close();
    throw error;
  }
}

export interface ProxiedSmtp {
  /** The real SMTP server: what it received. */
  smtp: TestSmtp;
  proxy: TcpProxy;
  /** smtp:// URL of the proxy, for a relay (`startStack({ smtpUrl })`). */
  url: string;
  close(): Promise<void>;
}

/** A real SMTP server behind a TCP proxy: a relay pointed at `url` loses its server when the proxy is cut. */
export async function startSmtpBehindProxy(): Promise<ProxiedSmtp> {
  const smtp = await startSmtp();
  const proxy = await startTcpProxy({ target: targetOf(smtp.url) });
  return {
    smtp,
    proxy,
    url: `smtp://127.0.0.1:${proxy.port}`,
    close: async () => {
      await proxy.close();
      await smtp.close();
    },
  };
}

/** A pg client straight to a database (not through any proxy); a dropped connection does not crash Jest. */
export function directPg(url: string): PgClient {
  const client = new PgClient({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  return client;
}

/** Runs activities directly, as a retry would run them, without their log lines. */
export function quietActivityEnvironment(info: { attempt?: number } = {}): MockActivityEnvironment {
  return new MockActivityEnvironment(info, { logger: silentLogger });
}

/** Times a kind of read (e.g. the API's live state) through a fault: the slowest one and the failures. */
export function readTimer() {
  const figures = { reads: 0, failed: 0, slowestMs: 0 };
  return {
    figures,
    async time<T>(read: () => Promise<T>): Promise<T> {
      const started = Date.now();
      figures.reads += 1;
      try {
        return await read();
      } catch (error) {
        figures.failed += 1;
        throw error;
      } finally {
        figures.slowestMs = Math.max(figures.slowestMs, Date.now() - started);
      }
    },
  };
}

// ---- What the workflows' histories show of a fault ----

import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { localActivityMarker } from '../support/history';

const TaskFailedCause = proto.api.enums.v1.WorkflowTaskFailedCause;
/** Workflow task failures that are bugs of the workflow code, not effects of a fault around it. */
export const WORKFLOW_CODE_FAILURES = ['NON_DETERMINISTIC_ERROR', 'WORKFLOW_WORKER_UNHANDLED_FAILURE'];

export interface HistoryFaults {
  workflowId: string;
  /** Causes of failed workflow tasks, without the WORKFLOW_TASK_FAILED_CAUSE_ prefix. */
  workflowTaskFailures: string[];
  workflowTaskTimeouts: number;
  /** The highest attempt any activity of the workflow started with (1: never retried). */
  maxActivityAttempt: number;
  /** How often the workflow scheduled each activity type (retries of one activity are one). */
  scheduled: Record<string, number>;
}

/** Reads what each workflow's history recorded of the faults: failed and timed-out tasks, retries. */
export async function historyFaults(client: Client, workflowIds: readonly string[]): Promise<HistoryFaults[]> {
  return mapLimit(workflowIds, 8, async (workflowId) => {
    const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const faults: HistoryFaults = {
      workflowId,
      workflowTaskFailures: [],
      workflowTaskTimeouts: 0,
      maxActivityAttempt: 0,
      scheduled: {},
    };
    for (const event of events) {
      const failed = event.workflowTaskFailedEventAttributes;
      if (failed) {
        const name = TaskFailedCause[failed.cause ?? 0] ?? String(failed.cause);
        faults.workflowTaskFailures.push(name.replace(/^WORKFLOW_TASK_FAILED_CAUSE_/, ''));
      }
      if (event.workflowTaskTimedOutEventAttributes) faults.workflowTaskTimeouts += 1;
      const started = event.activityTaskStartedEventAttributes;
      if (started) faults.maxActivityAttempt = Math.max(faults.maxActivityAttempt, started.attempt ?? 1);
      // Database writes are local activities since patch 'slim-history': one marker each, however
      // often a killed worker's workflow task ran them again.
      const local = localActivityMarker(event);
      if (local) faults.maxActivityAttempt = Math.max(faults.maxActivityAttempt, local.attempt);
      const type = event.activityTaskScheduledEventAttributes?.activityType?.name ?? local?.type;
      if (type) faults.scheduled[type] = (faults.scheduled[type] ?? 0) + 1;
    }
    return faults;
  });
}

/** Each workflow asked for its first-tranche instruction once (however often the activity was retried), and no workflow task failed for a reason of the workflow code itself. */
export async function expectOneInstructionEach(client: Client, pilotIds: readonly string[]): Promise<HistoryFaults[]> {
  const histories = await historyFaults(client, pilotIds);
  for (const h of histories) {
    expect({
      workflowId: h.workflowId,
      instructions: h.scheduled.issuePaymentInstruction,
      codeFailures: h.workflowTaskFailures.filter((cause) => WORKFLOW_CODE_FAILURES.includes(cause)),
    }).toEqual({ workflowId: h.workflowId, instructions: 1, codeFailures: [] });
  }
  return histories;
}

/** Waits until every outbox message is sent and received, and checks every copy of one carries its one Message-ID. */
export async function allMailDelivered(stack: Pick<Stack, 'db' | 'smtp'>, mailFrom: string): Promise<MailDelivery> {
  const delivery = await eventually(
    async () => {
      const d = await mailDelivery(stack);
      return d.byKey.every((k) => k.status === 'sent' && k.copies >= 1) && d;
    },
    30_000,
    'every outbox message sent and received',
  );
  for (const k of delivery.byKey) {
    expect({ key: k.key, messageIds: k.messageIds }).toEqual({
      key: k.key,
      messageIds: [messageIdFor(k.key, mailFrom)],
    });
  }
  return delivery;
}
