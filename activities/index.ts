import type { Db } from '../lib/db';
import type { Mailer } from '../lib/mailer';
import { createIntegrityActivities } from './integrity';
import { createNoticeActivities } from './notices';
import { createPaymentActivities } from './payments';
import { createPilotRecordActivities } from './pilot-records';

export interface ActivityDeps {
  db: Db;
  mailer: Mailer;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createPilotRecordActivities(deps.db),
    ...createPaymentActivities(deps.db),
    ...createNoticeActivities(deps.db, deps.mailer),
    ...createIntegrityActivities(deps.db),
  };
}

export type Activities = ReturnType<typeof createActivities>;
