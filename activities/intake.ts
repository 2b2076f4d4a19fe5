/**
 * The e-mail intake: reads a call's folder over IMAP and records every message once, with the
 * server's arrival time (INTERNALDATE), which is what lateness is judged by.
 *
 * Processing once: each message's row and the folder's cursor are written in one transaction,
 * and the row is insert-if-absent on (call, folder, UIDVALIDITY, UID). An attempt killed midway
 * leaves the cursor at the last message it recorded; the retry fetches from there, and a message
 * recorded by an attempt that lived on anyway (a worker cut off, not dead) is not inserted twice.
 * PDFs go to the document store first, by content hash, so a repeat stores nothing new either.
 *
 * Only the call's own mail: a message that arrived before the call opened (`intake.since`, by
 * default the call's creation) is skipped, neither recorded nor stored, and the cursor moves past
 * it. One bad message never stops the intake: every stored string is cleaned of what PostgreSQL
 * refuses (NUL and other control characters), and a message that cannot be read (mailparser
 * fails on it, or it fails MESSAGE_TRIES times) is recorded UNREADABLE, without a PDF, and the
 * rest of the folder is read. Failures that are not the message's (IMAP, the document store, the
 * database away) fail the attempt instead, which Temporal retries from the cursor.
 *
 * The folder is opened read-only (EXAMINE): the intake never marks mail as read, moves or deletes
 * it. Never logged: senders, subjects, file names (they name units, but also carry whatever an
 * applicant typed), the IMAP user and password.
 */
import { ApplicationFailure, Context, log, sleep } from '@temporalio/activity';
import type { ImapFlow } from 'imapflow';
import { bilingual } from '../domain/errors';
import type { Db } from '../lib/db';
import { imapClient, type ImapSettings } from '../lib/imap';
import type { DocumentStore } from '../lib/storage';
import {
  choosePdf,
  cleanText,
  flagsOf,
  parseMail,
  UnreadableMail,
  type MailAttachment,
  type MailFlag,
  type ParsedMail,
} from './intake-mail';

export interface IntakeDeps {
  db: Db;
  /** Where sealed PDFs go: the directory the API stores uploads in (STORAGE_DIR). */
  store?: DocumentStore;
  /** null or absent: this worker reads no mail. */
  imap?: ImapSettings | null;
  /**
   * The deployment's PDF_MAX_BYTES, the API's limit for uploads (default 20 MiB): a larger PDF is
   * listed but not stored, and a message too large to hold one (base64) is not downloaded; both
   * are flagged TOO_LARGE.
   */
  pdfMaxBytes?: number;
  /** Tests: a parser of their own (one that fails), a faster heartbeat, shorter pauses. */
  parse?: (source: Buffer) => Promise<ParsedMail>;
  heartbeatEveryMs?: number;
  retryPauseMs?: number;
}

export interface PollMailboxInput {
  callId: string;
  folder: string;
}

export interface PollMailboxResult {
  /** Numbers: UIDVALIDITY and UIDs are 32-bit unsigned. */
  uidValidity: number;
  lastUid: number;
  /** Messages fetched by this attempt, and how many of them were new rows (UNREADABLE ones too). */
  fetched: number;
  recorded: number;
  /** Messages passed over as older than the call (`since`), and ones recorded UNREADABLE. */
  skipped: number;
  unreadable: number;
  /** Mail from this instant on (UTC ISO) is the call's. */
  since: string;
  /** More messages wait than one attempt takes: poll again at once. */
  more: boolean;
}

/** One attempt fetches at most this many messages, so it stays well inside its timeout. */
export const MESSAGES_PER_POLL = 100;
/** Tries of one message (a fresh fetch each) before it is recorded UNREADABLE. */
export const MESSAGE_TRIES = 3;
/** Heartbeats while the activity runs, whatever it waits for (login, search, one large message). */
export const HEARTBEAT_EVERY_MS = 5_000;
/** mailparser on one message; past it the try fails (and the message, after its tries). */
const PARSE_TIMEOUT_MS = 60_000;
const DEFAULT_PDF_MAX_BYTES = 20 * 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The largest message that can carry a PDF of `pdfMaxBytes`: base64 in 76-character lines, plus 1 MiB. */
export const messageMaxBytesFor = (pdfMaxBytes: number): number =>
  Math.ceil(((pdfMaxBytes * 4) / 3) * (78 / 76)) + 1024 * 1024;

export const receivedId = (callId: string, uidValidity: bigint | number, uid: bigint | number) =>
  `${callId}:${uidValidity}:${uid}`;

/** Row data as one message gives it. */
interface MessageRow {
  receivedAt: Date;
  sender: string;
  subject: string;
  messageId: string | null;
  attachments: MailAttachment[];
  pdf?: MailAttachment;
  flags: MailFlag[];
}

/** PostgreSQL refused the data (class 22 data exception, 23 constraint) or Prisma did: the message's fault. */
function isDataError(error: unknown): boolean {
  const e = error as { code?: unknown; meta?: { code?: unknown }; cause?: { code?: unknown }; message?: unknown };
  const codes = [e?.code, e?.meta?.code, e?.cause?.code].filter((c): c is string => typeof c === 'string');
  if (codes.some((c) => /^2[23][0-9A-Z]{3}$/.test(c) || /^P20(00|06|07|09|11|12|19|20|23|33)$/.test(c))) return true;
  return (
    typeof e?.message === 'string' &&
    /\b(22021|22P05|22001|22P02)\b|invalid byte sequence|unsupported Unicode escape/.test(e.message)
  );
}

/** The error's kind without its text (which may quote a subject or a file name). */
const errorKind = (error: unknown): string => {
  const e = error as { name?: unknown; code?: unknown };
  return [typeof e?.name === 'string' ? e.name : typeof error, typeof e?.code === 'string' ? e.code : '']
    .filter(Boolean)
    .join(' ');
};

function withTimeout<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function createIntakeActivities({
  db,
  store,
  imap,
  pdfMaxBytes = DEFAULT_PDF_MAX_BYTES,
  parse = parseMail,
  heartbeatEveryMs = HEARTBEAT_EVERY_MS,
  retryPauseMs = 1000,
}: IntakeDeps) {
  const messageMaxBytes = messageMaxBytesFor(pdfMaxBytes);

  /** IMAP errors without anything secret in them, retried by Temporal (the server may be away). */
  const imapFailure = (stage: string, error: unknown): ApplicationFailure => {
    const { code, message } = error as { code?: string; message?: string };
    let text = `${code ?? ''} ${message ?? String(error)}`.trim();
    for (const secret of [imap?.password, imap?.user]) if (secret) text = text.split(secret).join('[redacted]');
    return ApplicationFailure.retryable(`IMAP ${stage}: ${text}`, 'IMAP_UNAVAILABLE');
  };
  /** An IMAP command; its failure becomes a retryable failure without secrets. */
  const imapStep = async <T>(stage: string, step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (error) {
      throw imapFailure(stage, error);
    }
  };
  /** The document store away (disk full, permissions) is not the message's fault: the attempt fails. */
  const storePdf = async (content: Buffer): Promise<string> => {
    if (!store) throw ApplicationFailure.nonRetryable('the worker has no document store (STORAGE_DIR)');
    try {
      return (await store.put(content)).sha256;
    } catch (error) {
      throw ApplicationFailure.retryable(`document store: ${errorKind(error)}`, 'STORE_UNAVAILABLE');
    }
  };

  /** When the call opened for applications: `intake.since`, else the call row's creation. */
  async function sinceOf(callId: string): Promise<Date> {
    const call = await db.call.findUnique({ where: { id: callId }, select: { config: true, createdAt: true } });
    if (!call) {
      throw ApplicationFailure.create({
        type: 'CALL_NOT_FOUND',
        message: bilingual('CALL_NOT_FOUND'),
        nonRetryable: true,
      });
    }
    const since = (call.config as { intake?: { since?: unknown } } | null)?.intake?.since;
    return typeof since === 'string' && !Number.isNaN(Date.parse(since)) ? new Date(since) : call.createdAt;
  }

  /** The applicant units registered in the call so far (NFC, trimmed): a PDF named after one is preferred. */
  async function unitsOf(callId: string): Promise<Set<string>> {
    const pilots = await db.pilot.findMany({ where: { callId }, select: { applicantUnitName: true } });
    return new Set(pilots.map((p) => p.applicantUnitName.normalize('NFC').trim()));
  }

  /** Downloads, parses and stores one message's PDFs. */
  async function read(
    client: ImapFlow,
    uid: number,
    size: number,
    base: MessageRow,
    units: () => Promise<Set<string>>,
  ): Promise<MessageRow | null> {
    if (size > messageMaxBytes) return { ...base, flags: ['TOO_LARGE'] };
    const full = await imapStep(`fetch UID ${uid}`, () =>
      client.fetchOne(String(uid), { uid: true, source: true }, { uid: true }),
    );
    if (!full || !full.source) return null;
    const mail = await withTimeout(PARSE_TIMEOUT_MS, parse(full.source));
    const attachments: MailAttachment[] = [];
    for (const { content, ...attachment } of mail.attachments) {
      if (!attachment.pdf) attachments.push(attachment);
      else if (content.length > pdfMaxBytes) attachments.push({ ...attachment, tooLarge: true });
      else attachments.push({ ...attachment, sha256: await storePdf(content) });
    }
    const several = attachments.filter((a) => a.pdf && !a.tooLarge).length > 1;
    return {
      ...base,
      // mailparser's decoding (encoded words, charsets) over the envelope's.
      sender: mail.sender || base.sender,
      subject: mail.subject,
      messageId: mail.messageId,
      attachments,
      pdf: choosePdf(attachments, several ? await units() : new Set()),
      flags: flagsOf(attachments),
    };
  }

  /** The row and the cursor in one transaction; whether the row is new. */
  async function insert(input: PollMailboxInput, uidValidity: bigint, uid: number, row: MessageRow): Promise<boolean> {
    const { callId, folder } = input;
    const [{ count }] = await db.$transaction([
      db.receivedApplication.createMany({
        data: [
          {
            id: receivedId(callId, uidValidity, uid),
            callId,
            mailbox: folder,
            uidValidity,
            uid: BigInt(uid),
            receivedAt: row.receivedAt,
            sender: row.sender,
            subject: row.subject,
            attachmentName: row.pdf?.name ?? null,
            pdfSha256: row.pdf?.sha256 ?? null,
            pdfSizeBytes: row.pdf?.sizeBytes ?? null,
            flags: row.flags,
            attachments: row.attachments.map((a) => ({ ...a })),
            messageId: row.messageId,
          },
        ],
        skipDuplicates: true,
      }),
      cursorTo(input, uidValidity, uid),
    ]);
    log.info('intake: message recorded', {
      callId,
      uid,
      new: count === 1,
      flags: row.flags,
      receivedAt: row.receivedAt.toISOString(),
    });
    return count === 1;
  }

  const cursorTo = ({ callId, folder }: PollMailboxInput, uidValidity: bigint, uid: number) => db.$executeRaw`
    INSERT INTO mailbox_cursor (call_id, mailbox, uid_validity, last_uid, updated_at)
    VALUES (${callId}, ${folder}, ${uidValidity}, ${BigInt(uid)}, now())
    ON CONFLICT (call_id, mailbox, uid_validity)
    DO UPDATE SET last_uid = GREATEST(mailbox_cursor.last_uid, EXCLUDED.last_uid), updated_at = now()`;

  type Outcome = 'new' | 'known' | 'unreadable' | 'skipped' | 'gone';

  async function record(
    client: ImapFlow,
    input: PollMailboxInput,
    uidValidity: bigint,
    uid: number,
    since: Date,
    units: () => Promise<Set<string>>,
  ): Promise<Outcome> {
    const head = await imapStep(`fetch UID ${uid}`, () =>
      client.fetchOne(String(uid), { uid: true, internalDate: true, size: true, envelope: true }, { uid: true }),
    );
    // Expunged since the search: nothing arrived that can still be judged.
    if (!head || head.internalDate === undefined) return 'gone';
    const receivedAt = new Date(head.internalDate);
    // Older than the call (last year's applications in the same folder): not this call's mail.
    if (receivedAt.getTime() < since.getTime()) return 'skipped';
    const base: MessageRow = {
      receivedAt,
      sender: cleanText(
        head.envelope?.from?.map((a) => (a.name ? `${a.name} <${a.address ?? ''}>` : (a.address ?? ''))).join(', '),
      ).slice(0, 500),
      subject: cleanText(head.envelope?.subject).slice(0, 1000),
      messageId: cleanText(head.envelope?.messageId).slice(0, 500) || null,
      attachments: [],
      flags: [],
    };
    const context = Context.current();
    for (let attempt = 1; ; attempt += 1) {
      let failure: unknown;
      try {
        const row = await read(client, uid, head.size ?? 0, base, units);
        if (!row) return 'gone';
        try {
          return (await insert(input, uidValidity, uid, row)) ? 'new' : 'known';
        } catch (error) {
          // The database away is not the message's fault: the attempt fails and is retried.
          if (!isDataError(error)) throw error;
          failure = error;
        }
      } catch (error) {
        if (error instanceof ApplicationFailure || context.cancellationSignal.aborted) throw error;
        failure = error;
      }
      const deterministic = failure instanceof UnreadableMail || isDataError(failure);
      log.warn('intake: message not read', {
        callId: input.callId,
        uid,
        try: attempt,
        error: errorKind(failure),
        recordedUnreadable: deterministic || attempt >= MESSAGE_TRIES,
      });
      if (deterministic || attempt >= MESSAGE_TRIES) break;
      await sleep(retryPauseMs * attempt);
    }
    // Recorded as it arrived, with what the envelope says, for staff to open in their mail client.
    const unreadable: MessageRow = { ...base, flags: ['UNREADABLE'] };
    try {
      return (await insert(input, uidValidity, uid, unreadable)) ? 'unreadable' : 'known';
    } catch (error) {
      if (!isDataError(error)) throw error;
      // Even the envelope refused: the arrival alone.
      const bare = { ...unreadable, sender: '', subject: '', messageId: null };
      return (await insert(input, uidValidity, uid, bare)) ? 'unreadable' : 'known';
    }
  }

  return {
    /**
     * Records the folder's messages above the cursor, oldest UID first, at most MESSAGES_PER_POLL
     * fetched; messages older than the call are passed over (and do not count).
     */
    async pollMailbox(input: PollMailboxInput): Promise<PollMailboxResult> {
      if (!imap) {
        throw ApplicationFailure.create({
          type: 'INTAKE_NOT_CONFIGURED',
          message: bilingual('INTAKE_NOT_CONFIGURED', 'this worker has no IMAP_HOST'),
          nonRetryable: true,
        });
      }
      const context = Context.current();
      // Progress, sent with every heartbeat: on a timer (a slow login or search, one large
      // message) and at each message.
      let progress: { uidValidity?: number; uid?: number } = {};
      context.heartbeat(progress);
      const beat = setInterval(() => context.heartbeat(progress), heartbeatEveryMs);
      const client = imapClient(imap);
      // A socket error after connect would otherwise be an unhandled 'error' event.
      client.on('error', () => undefined);
      try {
        const since = await sinceOf(input.callId);
        await imapStep('login', () => client.connect());
        try {
          const mailbox = await imapStep('open folder', () => client.mailboxOpen(input.folder, { readOnly: true }));
          const uidValidity = mailbox.uidValidity;
          // A folder recreated (new UIDVALIDITY) has a cursor of its own, starting at 0.
          const cursor = await db.mailboxCursor.findUnique({
            where: { callId_mailbox_uidValidity: { callId: input.callId, mailbox: input.folder, uidValidity } },
          });
          const after = Number(cursor?.lastUid ?? 0n);
          const range = `${after + 1}:*`;
          // `n:*` always includes the highest UID, even below n: hence the filter.
          const found = (await imapStep('search', () => client.search({ uid: range }, { uid: true }))) || [];
          const pending = found.filter((uid) => uid > after).sort((a, b) => a - b);
          // What may be recent enough, by the server's coarse SINCE (whole days, its own time
          // zone) or WITHIN, a day early: the rest is passed over without being fetched, and
          // the INTERNALDATE of each candidate decides.
          const recent = new Set(
            pending.length === 0
              ? []
              : (await imapStep('search', () =>
                  client.search({ uid: range, since: new Date(since.getTime() - DAY_MS) }, { uid: true }),
                )) || [],
          );
          const units = (() => {
            let loaded: Promise<Set<string>> | undefined;
            return () => (loaded ??= unitsOf(input.callId));
          })();
          let recorded = 0;
          let fetched = 0;
          let skipped = 0;
          let unreadable = 0;
          let lastUid = after;
          let written = after;
          let more = false;
          for (const uid of pending) {
            context.cancellationSignal.throwIfAborted();
            if (!recent.has(uid)) {
              skipped += 1;
              lastUid = uid;
              continue;
            }
            if (fetched >= MESSAGES_PER_POLL) {
              more = true;
              break;
            }
            progress = { uidValidity: Number(uidValidity), uid };
            context.heartbeat(progress);
            const outcome = await record(client, input, uidValidity, uid, since, units);
            if (outcome !== 'gone') fetched += 1;
            if (outcome === 'skipped') skipped += 1;
            // A row's transaction moved the cursor.
            if (outcome === 'new' || outcome === 'known' || outcome === 'unreadable') written = uid;
            if (outcome === 'new' || outcome === 'unreadable') recorded += 1;
            if (outcome === 'unreadable') unreadable += 1;
            lastUid = uid;
          }
          // Messages passed over after the last row: the cursor moves past them too.
          if (lastUid > written) await cursorTo(input, uidValidity, lastUid);
          const result = {
            uidValidity: Number(uidValidity),
            lastUid,
            fetched,
            recorded,
            skipped,
            unreadable,
            since: since.toISOString(),
            more,
          };
          log.info('intake: folder read', { callId: input.callId, ...result });
          return result;
        } finally {
          await client.logout().catch(() => client.close());
        }
      } finally {
        clearInterval(beat);
      }
    },
  };
}
