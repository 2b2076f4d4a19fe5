/**
 * What a pilot's workflow keeps of its application (申报书): the sealed PDF's fingerprint and the
 * form's content hash, never the form. The form is validated by the API and stored in the database
 * under its hash; history and every open workflow stay small whatever the form's size. No zod here:
 * the workflow bundle imports this module.
 */
import type { SealedPdf } from './application-form';

/** 试点主题: the five themes of the notice. */
export const PILOT_THEMES = [
  '基层组织改革',
  '科技经济融合',
  '科技精准扶贫',
  '科普公共服务',
  '联系服务科技工作者',
] as const;
export type PilotThemeName = (typeof PILOT_THEMES)[number];

/**
 * How the sealed application reached the office: by e-mail to the call's mailbox (the received
 * message is kept in `received_application`), or handed in another way and keyed in by staff.
 */
export type Receipt = { via: 'email'; receivedId: string } | { via: 'other' };
export const RECEIPT_KINDS = ['email', 'other'] as const;

/** The submission as the workflow receives and keeps it (patch 'slim-history'). */
export interface SubmittedApplication {
  /** sha256 (hex) of the form's JSON as the API stored it in `application_forms`. */
  formHash: string;
  /** The form's themes, which the pilot list filters by. */
  themes: PilotThemeName[];
  pdf: SealedPdf;
  /**
   * When the application arrived (UTC ISO): the mail server's INTERNALDATE, or the time staff
   * state for one handed in another way. Lateness (逾期不予受理) is judged on it, not on the time
   * of entry. Absent in histories from before patch 'notice-as-written': then entry time counted.
   */
  receivedAt?: string;
  receipt?: Receipt;
}

/** The file must be named after the applicant unit: `<申报单位>.pdf`, compared in NFC. */
export function expectedPdfName(applicantUnit: string): string {
  return `${applicantUnit.normalize('NFC')}.pdf`;
}

/**
 * The unit a PDF's file name names (文件名为"申报单位"): the name in NFC without its ".pdf", whatever
 * the extension's case; null when the name does not end in .pdf.
 */
export function unitOfPdfName(fileName: string): string | null {
  const name = fileName.normalize('NFC').trim();
  return /\.pdf$/i.test(name) ? name.slice(0, -4).trim() : null;
}

/** Whether a PDF's file name is the applicant unit's name (the extension's case does not matter). */
export function pdfNameMatches(fileName: string, applicantUnit: string): boolean {
  return unitOfPdfName(fileName) === applicantUnit.normalize('NFC').trim();
}
