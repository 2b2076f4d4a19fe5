/**
 * Applications received by e-mail, as staff read them: each row with whether it arrived on time
 * (the server's arrival time before the call's deadline) and which registered pilots its PDF's
 * name points to. The match is computed when read, so a pilot registered after its mail arrived
 * is found all the same.
 */
import type { Role } from '../domain/pilot';
import { unitOfPdfName } from '../domain/submission';
import { formatBeijingInstant } from '../domain/time';
import type { ReceivedApplication } from '../generated/prisma/client';
import type { DbClient } from '../lib/db';

/** The registered applicant unit a PDF's name names, and the call's pilots it applies for. */
export interface ReceivedMatch {
  applicantUnitName: string;
  pilotIds: string[];
}

export interface ReceivedItem extends ReceivedApplication {
  /** Stored facts plus UNMATCHED_UNIT when the PDF names no registered applicant unit. */
  flags: string[];
  match: ReceivedMatch | null;
  /** Arrived (INTERNALDATE) before the call's submission deadline. */
  onTime: boolean;
}

/** The call's pilots by applicant unit name (NFC, trimmed). */
export async function applicantUnitsOf(db: DbClient, callId: string): Promise<Map<string, string[]>> {
  const pilots = await db.pilot.findMany({
    where: { callId },
    select: { id: true, applicantUnitName: true },
    orderBy: { id: 'asc' },
  });
  const units = new Map<string, string[]>();
  for (const { id, applicantUnitName } of pilots) {
    const unit = applicantUnitName.normalize('NFC').trim();
    units.set(unit, [...(units.get(unit) ?? []), id]);
  }
  return units;
}

/** A stored PDF of the message's `attachments` (the intake stores every PDF under its hash). */
interface StoredPdf {
  name: string;
  sha256: string;
  sizeBytes: number;
}
const storedPdfs = (attachments: unknown): StoredPdf[] =>
  Array.isArray(attachments)
    ? attachments.filter(
        (a): a is StoredPdf =>
          typeof a === 'object' &&
          a !== null &&
          (a as { pdf?: unknown }).pdf === true &&
          typeof (a as StoredPdf).name === 'string' &&
          typeof (a as StoredPdf).sha256 === 'string' &&
          typeof (a as StoredPdf).sizeBytes === 'number',
      )
    : [];

/**
 * The message's PDF as of now: the one recorded, unless it names no registered applicant unit and
 * another PDF of the same message does (several PDFs, the unit registered after the mail arrived).
 */
function currentPdf(row: ReceivedApplication, units: Map<string, string[]>): ReceivedApplication {
  const registered = (name: string | null) => {
    const unit = name ? unitOfPdfName(name) : null;
    return unit !== null && units.has(unit);
  };
  if (row.attachmentName === null || registered(row.attachmentName)) return row;
  const other = storedPdfs(row.attachments).find((a) => registered(a.name));
  return other ? { ...row, attachmentName: other.name, pdfSha256: other.sha256, pdfSizeBytes: other.sizeBytes } : row;
}

export function receivedItem(stored: ReceivedApplication, deadline: Date, units: Map<string, string[]>): ReceivedItem {
  const row = currentPdf(stored, units);
  const unit = row.attachmentName ? unitOfPdfName(row.attachmentName) : null;
  const pilotIds = unit === null ? undefined : units.get(unit);
  const match = unit !== null && pilotIds ? { applicantUnitName: unit, pilotIds } : null;
  // A message without a PDF names no unit: NO_PDF says so already.
  const unmatched = row.attachmentName !== null && match === null;
  return {
    ...row,
    flags: unmatched ? [...row.flags, 'UNMATCHED_UNIT'] : row.flags,
    match,
    onTime: row.receivedAt.getTime() < deadline.getTime(),
  };
}

/**
 * One received application of a call with its computed match, or null: what a submission that
 * refers to a received e-mail by id needs (its PDF by hash, its arrival time, onTime).
 */
export async function findReceived(db: DbClient, callId: string, receivedId: string): Promise<ReceivedItem | null> {
  const [row, call] = await Promise.all([
    db.receivedApplication.findFirst({ where: { id: receivedId, callId } }),
    db.call.findUnique({ where: { id: callId }, select: { submissionDeadline: true } }),
  ]);
  if (!row || !call) return null;
  return receivedItem(row, call.submissionDeadline, await applicantUnitsOf(db, callId));
}

/** Roles that see who sent a message and its subject (personal data): the office, not auditors. */
const SEES_SENDER: readonly Role[] = ['staff', 'admin'];

export function receivedView(item: ReceivedItem, role: Role) {
  return {
    id: item.id,
    callId: item.callId,
    mailbox: item.mailbox,
    uid: Number(item.uid),
    receivedAt: item.receivedAt.toISOString(),
    receivedAtBeijing: formatBeijingInstant(item.receivedAt),
    onTime: item.onTime,
    ...(SEES_SENDER.includes(role) ? { sender: item.sender, subject: item.subject } : {}),
    attachmentName: item.attachmentName,
    pdf: item.pdfSha256 ? { sha256: item.pdfSha256, sizeBytes: item.pdfSizeBytes } : null,
    attachments: item.attachments,
    flags: item.flags,
    match: item.match,
    pilotId: item.pilotId,
    attachedAt: item.attachedAt?.toISOString() ?? null,
    attachedBy: item.attachedBy,
  };
}
