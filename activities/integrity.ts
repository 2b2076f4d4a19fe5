import type { Actor } from '../domain/pilot';
import type { Db } from '../lib/db';

export function createIntegrityActivities(db: Db) {
  return {
    /** 弄虚作假: the flag stays on the unit's record, whatever becomes of this pilot. */
    async flagUnitIntegrity(flag: {
      pilotId: string;
      pilotUnitCode: string;
      reason: string;
      flaggedBy: Actor;
      at: string;
    }) {
      await db.unitIntegrityFlag.createMany({
        data: {
          pilotId: flag.pilotId,
          pilotUnitCode: flag.pilotUnitCode,
          reason: flag.reason,
          flaggedBy: flag.flaggedBy.id,
          flaggedAt: new Date(flag.at),
        },
        skipDuplicates: true,
      });
    },
  };
}
