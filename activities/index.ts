import type { Db } from '../lib/db';
import { createPilotRecordActivities } from './pilot-records';

export interface ActivityDeps {
  db: Db;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createPilotRecordActivities(deps.db),
  };
}

export type Activities = ReturnType<typeof createActivities>;
