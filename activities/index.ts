import type { Db } from '../lib/db';
import { createIntegrityActivities } from './integrity';
import { createNoticeActivities } from './notices';
import { createPaymentActivities } from './payments';
import { createPilotRecordActivities } from './pilot-records';

/** Activities only write the database; the outbox relay (lib/outbox-relay.ts) sends the mail. */
export interface ActivityDeps {
  db: Db;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createPilotRecordActivities(deps.db),
    ...createPaymentActivities(deps.db),
    ...createNoticeActivities(deps.db),
    ...createIntegrityActivities(deps.db),
  };
}

export type Activities = ReturnType<typeof createActivities>;
