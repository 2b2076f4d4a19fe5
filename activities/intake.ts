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
 * The folder is opened read-only (EXAMINE): the intake never marks mail as read, moves or deletes
 * it. Never logged: senders, subjects, file names (they name units, but also carry whatever an
 * applicant typed), the IMAP user and password.
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { ImapFlow } from 'imapflow';
import { bilingual } from '../domain/errors';
import type { Db } from '../lib/db';
import { imapClient, type ImapSettings } from '../lib/imap';
import type { DocumentStore } from '../lib/storage';
import { flagsOf, parseMail, type MailAttachment, type MailFlag } from './intake-mail';

export interface IntakeDeps {
  db: Db;
  /** Where sealed PDFs go: the directory the API stores uploads in (STORAGE_DIR). */
  store?: DocumentStore;
  /** null or absent: this worker reads no mail. */
  imap?: ImapSettings | null;
  /** Larger messages are recorded (TOO_LARGE) but not downloaded; default 64 MiB. */
  messageMaxBytes?: number;
}

export interface PollMailboxInput {
  callId: string;
  folder: string;
}

export interface PollMailboxResult {
  /** Numbers: UIDVALIDITY and UIDs are 32-bit unsigned. */
  uidValidity: number;
  lastUid: number;
  /** Messages fetched by this attempt, and how many of them were new rows. */
  fetched: number;
  recorded: number;
  /** More messages wait than one attempt takes: poll again at once. */
  more: boolean;
}

/** One attempt takes at most this many messages, so it stays well inside its timeout. */
export const MESSAGES_PER_POLL = 100;
const DEFAULT_MESSAGE_MAX_BYTES = 64 * 1024 * 1024;

export const receivedId = (callId: string, uidValidity: bigint | number, uid: bigint | number) =>
  `${callId}:${uidValidity}:${uid}`;

export function createIntakeActivities({ db, store, imap, messageMaxBytes = DEFAULT_MESSAGE_MAX_BYTES }: IntakeDeps) {
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

  async function record(
    client: ImapFlow,
    { callId, folder }: PollMailboxInput,
    uidValidity: bigint,
    uid: number,
  ): Promise<boolean | null> {
    const head = await imapStep(`fetch UID ${uid}`, () =>
      client.fetchOne(String(uid), { uid: true, internalDate: true, size: true, envelope: true }, { uid: true }),
    );
    // Expunged since the search: nothing arrived that can still be judged.
    if (!head || head.internalDate === undefined) return null;
    const receivedAt = new Date(head.internalDate);
    let sender =
      head.envelope?.from?.map((a) => (a.name ? `${a.name} <${a.address ?? ''}>` : (a.address ?? ''))).join(', ') ?? '';
    let subject = head.envelope?.subject ?? '';
    let messageId = head.envelope?.messageId ?? null;
    const attachments: MailAttachment[] = [];
    let flags: MailFlag[] = [];
    let pdf: MailAttachment | undefined;
    if ((head.size ?? 0) > messageMaxBytes) {
      flags = ['TOO_LARGE'];
    } else {
      const full = await imapStep(`fetch UID ${uid}`, () =>
        client.fetchOne(String(uid), { uid: true, source: true }, { uid: true }),
      );
      if (!full || !full.source) return null;
      const mail = await parseMail(full.source);
      // mailparser's decoding (encoded words, charsets) over the envelope's.
      sender = mail.sender || sender;
      subject = mail.subject;
      messageId = mail.messageId;
      for (const { content, ...attachment } of mail.attachments) {
        if (!attachment.pdf) {
          attachments.push(attachment);
          continue;
        }
        if (!store) throw ApplicationFailure.nonRetryable('the worker has no document store (STORAGE_DIR)');
        const { sha256 } = await store.put(content);
        attachments.push({ ...attachment, sha256 });
      }
      flags = flagsOf(attachments);
      pdf = attachments.find((a) => a.pdf);
    }
    const [{ count }] = await db.$transaction([
      db.receivedApplication.createMany({
        data: [
          {
            id: receivedId(callId, uidValidity, uid),
            callId,
            mailbox: folder,
            uidValidity,
            uid: BigInt(uid),
            receivedAt,
            sender,
            subject,
            attachmentName: pdf?.name ?? null,
            pdfSha256: pdf?.sha256 ?? null,
            pdfSizeBytes: pdf?.sizeBytes ?? null,
            flags,
            attachments: attachments.map((a) => ({ ...a })),
            messageId,
          },
        ],
        skipDuplicates: true,
      }),
      db.$executeRaw`
        INSERT INTO mailbox_cursor (call_id, mailbox, uid_validity, last_uid, updated_at)
        VALUES (${callId}, ${folder}, ${uidValidity}, ${BigInt(uid)}, now())
        ON CONFLICT (call_id, mailbox, uid_validity)
        DO UPDATE SET last_uid = GREATEST(mailbox_cursor.last_uid, EXCLUDED.last_uid), updated_at = now()`,
    ]);
    log.info('intake: message recorded', {
      callId,
      uid,
      new: count === 1,
      flags,
      receivedAt: receivedAt.toISOString(),
    });
    return count === 1;
  }

  return {
    /** Records the folder's messages above the cursor, oldest UID first, at most MESSAGES_PER_POLL. */
    async pollMailbox(input: PollMailboxInput): Promise<PollMailboxResult> {
      if (!imap) {
        throw ApplicationFailure.create({
          type: 'INTAKE_NOT_CONFIGURED',
          message: bilingual('INTAKE_NOT_CONFIGURED', 'this worker has no IMAP_HOST'),
          nonRetryable: true,
        });
      }
      const context = Context.current();
      const client = imapClient(imap);
      // A socket error after connect would otherwise be an unhandled 'error' event.
      client.on('error', () => undefined);
      await imapStep('login', () => client.connect());
      try {
        const mailbox = await imapStep('open folder', () => client.mailboxOpen(input.folder, { readOnly: true }));
        const uidValidity = mailbox.uidValidity;
        // A folder recreated (new UIDVALIDITY) has a cursor of its own, starting at 0.
        const cursor = await db.mailboxCursor.findUnique({
          where: { callId_mailbox_uidValidity: { callId: input.callId, mailbox: input.folder, uidValidity } },
        });
        const after = Number(cursor?.lastUid ?? 0n);
        // `n:*` always includes the highest UID, even below n: hence the filter.
        const found = (await imapStep('search', () => client.search({ uid: `${after + 1}:*` }, { uid: true }))) || [];
        const pending = found.filter((uid) => uid > after).sort((a, b) => a - b);
        const batch = pending.slice(0, MESSAGES_PER_POLL);
        let recorded = 0;
        let fetched = 0;
        let lastUid = after;
        for (const uid of batch) {
          context.cancellationSignal.throwIfAborted();
          context.heartbeat({ uidValidity: Number(uidValidity), uid });
          const isNew = await record(client, input, uidValidity, uid);
          if (isNew !== null) fetched += 1;
          if (isNew) recorded += 1;
          lastUid = uid;
        }
        const result = {
          uidValidity: Number(uidValidity),
          lastUid,
          fetched,
          recorded,
          more: pending.length > batch.length,
        };
        log.info('intake: folder read', { callId: input.callId, ...result });
        return result;
      } finally {
        await client.logout().catch(() => client.close());
      }
    },
  };
}
