/**
 * What one e-mail says about an application: its attachments, which of them is the sealed PDF,
 * and the facts staff must look at (no PDF, several, a ".pdf" that is not one). mailparser
 * decodes what real mail clients send: RFC 2231 file names (`filename*=utf-8''…`, GBK from
 * Chinese clients), encoded words (`=?UTF-8?B?…?=`), base64 and quoted-printable bodies.
 */
import { simpleParser } from 'mailparser';

export const PDF_MAGIC = Buffer.from('%PDF-');

/** Facts of a message, stored with its row (UNMATCHED_UNIT is not one: it is judged when read). */
export const MAIL_FLAGS = ['NO_PDF', 'SEVERAL_PDFS', 'NOT_A_PDF', 'TOO_LARGE'] as const;
export type MailFlag = (typeof MAIL_FLAGS)[number];

export interface MailAttachment {
  /** NFC, without any path a client put before it. */
  name: string;
  contentType: string;
  sizeBytes: number;
  /** Named .pdf (any case) and starts with %PDF-. */
  pdf: boolean;
  /** For PDFs, stored in the document store under this hash. */
  sha256?: string;
}

export interface ParsedMail {
  /** "Name <address>" as written; personal data. */
  sender: string;
  subject: string;
  messageId: string | null;
  attachments: (MailAttachment & { content: Buffer })[];
}

/** `C:\fakepath\x.pdf` and `dir/x.pdf` → `x.pdf`; NFC, trimmed. */
export function attachmentName(raw: string | undefined): string {
  const name = (raw ?? '').normalize('NFC').trim();
  return name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1).trim();
}

export const isPdf = (name: string, content: Buffer): boolean =>
  /\.pdf$/i.test(name) && content.subarray(0, PDF_MAGIC.length).equals(PDF_MAGIC);

export async function parseMail(source: Buffer): Promise<ParsedMail> {
  const mail = await simpleParser(source, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true });
  return {
    sender: (mail.from?.text ?? '').slice(0, 500),
    subject: (mail.subject ?? '').slice(0, 1000),
    messageId: mail.messageId?.slice(0, 500) ?? null,
    attachments: mail.attachments.map((a) => {
      const name = attachmentName(a.filename);
      return { name, contentType: a.contentType, sizeBytes: a.size, pdf: isPdf(name, a.content), content: a.content };
    }),
  };
}

/** The facts staff must look at, from the attachments alone. */
export function flagsOf(attachments: readonly MailAttachment[]): MailFlag[] {
  const pdfs = attachments.filter((a) => a.pdf).length;
  const flags: MailFlag[] = [];
  if (pdfs === 0) flags.push('NO_PDF');
  if (pdfs > 1) flags.push('SEVERAL_PDFS');
  if (attachments.some((a) => !a.pdf && /\.pdf$/i.test(a.name))) flags.push('NOT_A_PDF');
  return flags;
}
