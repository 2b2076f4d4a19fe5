import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';

export interface OutgoingMail {
  key: string;
  /** The same for every attempt at one outbox message, so a resend is recognisable as such. */
  messageId: string;
  to: string[];
  subject: string;
  text: string;
}

export interface MailResult {
  /** "sent": handed to the SMTP server; "stored": no SMTP configured, kept as an .eml file. */
  status: 'sent' | 'stored';
  messageId: string;
  /** Recipients the SMTP server refused while it accepted the others. */
  rejected: string[];
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<MailResult>;
  /** The Message-ID of the outbox message with this key. */
  messageIdFor(key: string): string;
  close(): void;
}

export interface MailerConfig {
  /** e.g. smtp://user:pass@mail.example.org:587; without it messages are kept as .eml files. */
  smtpUrl?: string;
  from: string;
  outboxDir: string;
}

/**
 * A Message-ID derived from the outbox key: any retry after a crash carries the same one, so
 * recipients' mail systems (and people) can tell a resend from a second message.
 */
export function messageIdFor(key: string, from: string): string {
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'reform-pilots.invalid';
  return `<${createHash('sha256').update(key).digest('hex').slice(0, 40)}@${domain}>`;
}

/** An SMTP server that does not answer must fail the attempt quickly; the relay retries it. */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };
/** The longest one delivery attempt can take: the relay's lease on a message is longer. */
export const MAX_SEND_MS = SMTP_TIMEOUTS.connectionTimeout + SMTP_TIMEOUTS.socketTimeout;

export function createMailer({ smtpUrl, from, outboxDir }: MailerConfig): Mailer {
  const idFor = (key: string) => messageIdFor(key, from);
  if (smtpUrl) {
    const transport = nodemailer.createTransport({ url: smtpUrl, ...SMTP_TIMEOUTS });
    return {
      async send({ to, subject, text, messageId }) {
        const info = await transport.sendMail({ from, to, subject, text, messageId });
        return { status: 'sent', messageId: info.messageId, rejected: info.rejected.map(String) };
      },
      messageIdFor: idFor,
      close: () => transport.close(),
    };
  }
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send({ key, to, subject, text, messageId }) {
      const info = await transport.sendMail({ from, to, subject, text, messageId });
      await fs.mkdir(outboxDir, { recursive: true });
      const file = path.join(outboxDir, `${key.replace(/[^A-Za-z0-9._-]+/g, '_')}.eml`);
      await fs.writeFile(file, info.message as Buffer);
      return { status: 'stored', messageId: info.messageId, rejected: [] };
    },
    messageIdFor: idFor,
    close: () => transport.close(),
  };
}
