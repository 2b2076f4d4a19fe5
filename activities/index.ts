import type { Db } from '../lib/db';
import type { ImapSettings } from '../lib/imap';
import type { DocumentStore } from '../lib/storage';
import { createIntakeActivities } from './intake';
import { createIntegrityActivities } from './integrity';
import { createNoticeActivities } from './notices';
import { createPaymentActivities } from './payments';
import { createPilotRecordActivities } from './pilot-records';

/** Activities only write the database; the outbox relay (lib/outbox-relay.ts) sends the mail. */
export interface ActivityDeps {
  db: Db;
  /** The e-mail intake's: where PDFs go (STORAGE_DIR) and the office's mailbox (none: no intake here). */
  store?: DocumentStore;
  imap?: ImapSettings | null;
  /** PDF_MAX_BYTES: the intake stores no larger PDF than the API takes as an upload. */
  pdfMaxBytes?: number;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createPilotRecordActivities(deps.db),
    ...createPaymentActivities(deps.db),
    ...createNoticeActivities(deps.db),
    ...createIntegrityActivities(deps.db),
    ...createIntakeActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
