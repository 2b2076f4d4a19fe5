/**
 * What one e-mail says about an application: its attachments, which of them is the sealed PDF,
 * and the facts staff must look at (no PDF, several, a ".pdf" that is not one). mailparser
 * decodes what real mail clients send: RFC 2231 file names (`filename*=utf-8''…`, GBK from
 * Chinese clients), encoded words (`=?UTF-8?B?…?=`), base64 and quoted-printable bodies.
 */
import { simpleParser } from 'mailparser';
import { unitOfPdfName } from '../domain/submission';

export const PDF_MAGIC = Buffer.from('%PDF-');

/**
 * Facts of a message, stored with its row (UNMATCHED_UNIT is not one: it is judged when read).
 * UNREADABLE: the message could not be read (mailparser failed on it, or it failed every try);
 * recorded with its arrival time and what the envelope says, without a PDF, so that the rest of
 * the folder is read. Staff open it in their mail client.
 */
export const MAIL_FLAGS = ['NO_PDF', 'SEVERAL_PDFS', 'NOT_A_PDF', 'TOO_LARGE', 'UNREADABLE'] as const;
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
  /** A PDF over the deployment's PDF_MAX_BYTES: listed, not stored (flag TOO_LARGE). */
  tooLarge?: boolean;
}

export interface ParsedMail {
  /** "Name <address>" as written; personal data. */
  sender: string;
  subject: string;
  messageId: string | null;
  attachments: (MailAttachment & { content: Buffer })[];
}

/**
 * Text as PostgreSQL takes it, in TEXT and in JSONB: without NUL, which both refuse (22021,
 * 22P05), and without the other C0 controls and DEL, which no subject, sender or file name
 * needs (a decoded `=?UTF-8?Q?a=00b?=` or `filename*=utf-8''a%00.pdf` carries them). Tabs and
 * line breaks become spaces in these one-line fields; lone UTF-16 surrogates become U+FFFD.
 */
export function cleanText(raw: string | null | undefined): string {
  return (
    (raw ?? '')
      .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
      .replace(/[\t\r\n]+/g, ' ')
      // eslint-disable-next-line no-control-regex -- removing control characters is the point
      .replace(/[\u0000-\u001f\u007f]/g, '')
  );
}

/** `C:\fakepath\x.pdf` and `dir/x.pdf` → `x.pdf`; NFC, trimmed, without control characters. */
export function attachmentName(raw: string | undefined): string {
  const name = cleanText(raw).normalize('NFC').trim();
  return name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1).trim();
}

export const isPdf = (name: string, content: Buffer): boolean =>
  /\.pdf$/i.test(name) && content.subarray(0, PDF_MAGIC.length).equals(PDF_MAGIC);

/** mailparser failed on a message: the same bytes fail again, so it is recorded UNREADABLE at once. */
export class UnreadableMail extends Error {
  constructor(cause: unknown) {
    super('the message cannot be parsed', { cause });
    this.name = 'UnreadableMail';
  }
}

export async function parseMail(source: Buffer): Promise<ParsedMail> {
  let mail: Awaited<ReturnType<typeof simpleParser>>;
  try {
    mail = await simpleParser(source, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true });
  } catch (error) {
    throw new UnreadableMail(error);
  }
  const messageId = cleanText(mail.messageId).slice(0, 500);
  return {
    sender: cleanText(mail.from?.text).slice(0, 500),
    subject: cleanText(mail.subject).slice(0, 1000),
    messageId: messageId || null,
    attachments: mail.attachments.map((a) => {
      const name = attachmentName(a.filename).slice(0, 500);
      return {
        name,
        contentType: cleanText(a.contentType).slice(0, 200),
        sizeBytes: a.size,
        pdf: isPdf(name, a.content),
        content: a.content,
      };
    }),
  };
}

/**
 * The PDF a message's row names (and staff attach): of several, the first whose name is a
 * registered applicant unit of the call, else the first that names a unit at all (`<unit>.pdf`,
 * not a bare ".pdf"), else the first. Too-large ones are never chosen (they are not stored).
 */
export function choosePdf<T extends MailAttachment>(
  attachments: readonly T[],
  units: ReadonlySet<string>,
): T | undefined {
  const pdfs = attachments.filter((a) => a.pdf && !a.tooLarge && a.sha256 !== undefined);
  const unit = (a: T) => unitOfPdfName(a.name);
  return pdfs.find((a) => units.has(unit(a) ?? '')) ?? pdfs.find((a) => (unit(a) ?? '') !== '') ?? pdfs[0];
}

/** The facts staff must look at, from the attachments alone. */
export function flagsOf(attachments: readonly MailAttachment[]): MailFlag[] {
  const pdfs = attachments.filter((a) => a.pdf && !a.tooLarge).length;
  const tooLarge = attachments.some((a) => a.tooLarge);
  const flags: MailFlag[] = [];
  // A PDF over the limit is one, only not stored: TOO_LARGE says so, not NO_PDF.
  if (pdfs === 0 && !tooLarge) flags.push('NO_PDF');
  if (pdfs > 1) flags.push('SEVERAL_PDFS');
  if (attachments.some((a) => !a.pdf && /\.pdf$/i.test(a.name))) flags.push('NOT_A_PDF');
  if (tooLarge) flags.push('TOO_LARGE');
  return flags;
}
