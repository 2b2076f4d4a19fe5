import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';

export interface OutgoingMail {
  key: string;
  to: string[];
  subject: string;
  text: string;
}

export interface MailResult {
  /** "sent": handed to the SMTP server; "stored": no SMTP configured, kept as an .eml file. */
  status: 'sent' | 'stored';
  messageId: string;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<MailResult>;
  close(): void;
}

export interface MailerConfig {
  /** e.g. smtp://user:pass@mail.example.org:587; without it messages are kept as .eml files. */
  smtpUrl?: string;
  from: string;
  outboxDir: string;
}

export function createMailer({ smtpUrl, from, outboxDir }: MailerConfig): Mailer {
  if (smtpUrl) {
    const transport = nodemailer.createTransport(smtpUrl);
    return {
      async send({ to, subject, text }) {
        const info = await transport.sendMail({ from, to, subject, text });
        return { status: 'sent', messageId: info.messageId };
      },
      close: () => transport.close(),
    };
  }
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send({ key, to, subject, text }) {
      const info = await transport.sendMail({ from, to, subject, text });
      await fs.mkdir(outboxDir, { recursive: true });
      const file = path.join(outboxDir, `${key.replace(/[^A-Za-z0-9._-]+/g, '_')}.eml`);
      await fs.writeFile(file, info.message as Buffer);
      return { status: 'stored', messageId: info.messageId };
    },
    close: () => transport.close(),
  };
}
