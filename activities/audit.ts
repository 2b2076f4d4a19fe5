import { Context } from '@temporalio/activity';
import type { Prisma } from '../generated/prisma/client';
import type { DbClient } from '../lib/db';

/**
 * One audit row for an automatic action (a notice sent, a tranche withheld), written once per
 * (pilot, step) and linked to the workflow run and the activity that did it.
 */
export async function auditAutomaticAction(
  db: DbClient,
  pilotId: string,
  step: string,
  data: Prisma.InputJsonValue,
  reason: string | null = null,
): Promise<void> {
  const { activityId, workflowExecution } = Context.current().info;
  await db.auditEvent.createMany({
    data: {
      pilotId,
      step,
      runId: workflowExecution?.runId ?? '',
      activityId,
      phase: null,
      reason,
      data,
      occurredAt: new Date(),
    },
    skipDuplicates: true,
  });
}
