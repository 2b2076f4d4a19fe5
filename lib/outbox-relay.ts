/**
 * The outbox relay: delivers the messages the pilot workflows' steps wrote to `outbox_message`,
 * beside the workflows and never in their way. Any number of relays (one per worker process) share
 * the table: each claims a message with FOR UPDATE SKIP LOCKED and a lease, so a message is worked
 * on by one relay at a time, and a relay that dies mid-send leaves a lease that runs out.
 *
 * Exactly-once delivery over SMTP is not possible; what is guaranteed:
 * - a message is retried (with backoff) until the SMTP server accepts it, for as long as it takes;
 * - every attempt carries the same Message-ID, derived from the message's key;
 * - a second copy can only happen when a relay dies (or loses the database) between the SMTP
 *   server's acceptance and the one-row UPDATE that marks the message sent: a window of one round
 *   trip to the database. Its copy then carries the same Message-ID.
 */
import { Prisma } from '../generated/prisma/client';
import type { Db } from './db';
import type { Logger } from './logger';
import { MAX_SEND_MS, type Mailer } from './mailer';

export interface OutboxRelayOptions {
  db: Db;
  mailer: Mailer;
  log: Logger;
  /** How often an idle relay looks for new messages. */
  pollMs?: number;
  /** Retries wait 1 s, 2 s, 4 s … up to this. */
  maxBackoffMs?: number;
  /** Messages delivered at the same time. */
  concurrency?: number;
  /**
   * How long a claimed message stays with its relay: longer than the slowest possible attempt, so
   * two relays never send one message at once; after it, a relay that died mid-send is retried.
   */
  leaseMs?: number;
}

export interface OutboxRelay {
  /** Look now rather than at the next poll (after a step wrote a message, in tests). */
  kick(): void;
  /** Finishes the deliveries under way, then stops. */
  stop(): Promise<void>;
}

/** The columns are UTC wall-clock timestamps (Prisma's DateTime): compare them with UTC, whatever the session's time zone. */
const UTC_NOW = Prisma.sql`(now() AT TIME ZONE 'UTC')`;

interface Claimed {
  id: bigint;
  key: string;
  recipients: string[];
  subject: string;
  body: string;
  attempts: number;
}

export function startOutboxRelay({
  db,
  mailer,
  log,
  pollMs = 1000,
  maxBackoffMs = 5 * 60_000,
  concurrency = 2,
  leaseMs = MAX_SEND_MS + 30_000,
}: OutboxRelayOptions): OutboxRelay {
  const leaseSeconds = Math.ceil(leaseMs / 1000);
  let running = true;
  const sleepers = new Set<() => void>();
  const wakeAll = () => {
    for (const wake of [...sleepers]) wake();
  };
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleepers.add(done);
    });

  async function claim(): Promise<Claimed | null> {
    const rows = await db.$queryRaw<Claimed[]>`
      UPDATE outbox_message
         SET status = 'sending',
             lease_until = ${UTC_NOW} + ${leaseSeconds}::int * interval '1 second',
             attempts = attempts + 1
       WHERE id = (
         SELECT id FROM outbox_message
          WHERE (status IN ('pending', 'failed') AND next_attempt_at <= ${UTC_NOW})
             OR (status = 'sending' AND lease_until < ${UTC_NOW})
          ORDER BY next_attempt_at, id
          LIMIT 1
          FOR UPDATE SKIP LOCKED)
      RETURNING id, key, recipients, subject, body, attempts`;
    return rows[0] ?? null;
  }

  /**
   * The end of one attempt, written only by the relay that still holds the claim: one whose lease
   * ran out (and whose message another relay claimed again, with the next attempt number) changes
   * nothing.
   */
  const settle = (message: Claimed, set: Prisma.Sql) => db.$executeRaw`
    UPDATE outbox_message SET ${set}, lease_until = NULL
     WHERE id = ${message.id} AND status = 'sending' AND attempts = ${message.attempts}`;

  async function deliver(message: Claimed): Promise<void> {
    const messageId = mailer.messageIdFor(message.key);
    let result: Awaited<ReturnType<Mailer['send']>>;
    try {
      result = await mailer.send({
        key: message.key,
        messageId,
        to: message.recipients,
        subject: message.subject,
        text: message.body,
      });
    } catch (error) {
      const smtp = error as Error & { code?: string; responseCode?: number };
      // The server's reply may quote a recipient's address: it is kept with the message (which
      // holds the recipients anyway), and the log names only the codes.
      const reason = smtp.message.slice(0, 500);
      const codes = { key: message.key, attempts: message.attempts, code: smtp.code, responseCode: smtp.responseCode };
      if (smtp.responseCode !== undefined && smtp.responseCode >= 500) {
        // A permanent refusal (5xx): retrying would only repeat it. An operator looks at these.
        await settle(message, Prisma.sql`status = 'rejected', last_error = ${reason}, message_id = ${messageId}`);
        log.error(codes, 'notice refused by the mail server for good');
        return;
      }
      const backoffMs = Math.min(maxBackoffMs, 1000 * 2 ** Math.min(20, message.attempts - 1));
      await settle(
        message,
        Prisma.sql`status = 'failed', last_error = ${reason}, message_id = ${messageId},
                   next_attempt_at = ${UTC_NOW} + ${backoffMs}::int * interval '1 millisecond'`,
      );
      log.warn({ ...codes, retryInMs: backoffMs }, 'notice not delivered yet');
      return;
    }
    // The window this design leaves for a second copy is this one statement (see above).
    const refused = result.rejected.length ? `refused for ${result.rejected.length} recipient(s)` : null;
    await settle(
      message,
      Prisma.sql`status = ${result.status}, message_id = ${messageId}, sent_at = ${UTC_NOW}, last_error = ${refused}`,
    );
    log.info(
      { key: message.key, messageId, attempts: message.attempts, refused: result.rejected.length },
      'notice delivered',
    );
  }

  async function loop(): Promise<void> {
    while (running) {
      try {
        const message = await claim();
        if (message) {
          await deliver(message);
          continue;
        }
      } catch (error) {
        // The database is away: the messages wait in it, and so does the relay.
        log.warn({ reason: (error as Error).message.slice(0, 300) }, 'outbox relay cannot reach the database');
      }
      if (running) await nap(pollMs);
    }
  }

  const loops = Array.from({ length: concurrency }, () => loop());
  return {
    kick: wakeAll,
    stop: async () => {
      running = false;
      wakeAll();
      await Promise.all(loops);
    },
  };
}
