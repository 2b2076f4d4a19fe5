import { Context } from '@temporalio/activity';
import type { Prisma } from '../generated/prisma/client';
import type { Db } from '../lib/db';
import type { Actor, PilotState } from '../domain/pilot';

export interface PilotStepRecord {
  /** Unique within the pilot: together with the pilot id it makes the write idempotent. */
  step: string;
  state: PilotState;
  actor?: Actor;
  reason?: string;
  /** The update that carried the decision, to find it in the workflow's history. */
  updateId?: string;
}

function pilotRow(state: PilotState) {
  return {
    callId: state.callId,
    pilotUnitCode: state.pilotUnit.code,
    pilotUnitName: state.pilotUnit.name,
    applicantUnitName: state.applicantUnit.name,
    province: state.province,
    provincial: state.provincial,
    phase: state.phase,
    themes: state.submission?.form.themes ?? [],
    approvedAmountFen:
      state.approvedAmountFen ?? (state.review?.outcome === 'approved' ? state.review.amountFen : null),
    tailWithheld: state.tranches?.tail.status === 'withheld',
    registeredAt: new Date(state.registeredAt),
    submittedAt: state.submission ? new Date(state.submission.at) : null,
    decidedAt: state.review ? new Date(state.review.at) : null,
    // The time of the acceptance that closed it (结项), whatever is written later.
    closedAt: closedAt(state),
    stateVersion: state.version,
  };
}

export function createPilotRecordActivities(db: Db) {
  return {
    /**
     * Writes the pilot's row and one audit event for the step. Safe to retry and to replay: the
     * audit row is unique per (pilot, step), and a row never moves back to an older state version.
     */
    async recordPilotStep({ step, state, actor, reason, updateId }: PilotStepRecord): Promise<void> {
      const { activityId, workflowExecution } = Context.current().info;
      const runId = workflowExecution?.runId ?? '';
      const row = pilotRow(state);
      await db.$transaction(async (tx) => {
        // One statement each, conditional on the version: two steps' writes racing (or a retry
        // arriving late) never take the row back to an older state.
        const { count } = await tx.pilot.createMany({ data: { id: state.pilotId, ...row }, skipDuplicates: true });
        if (count === 0) {
          await tx.pilot.updateMany({ where: { id: state.pilotId, stateVersion: { lt: state.version } }, data: row });
        }
        await tx.auditEvent.createMany({
          data: {
            pilotId: state.pilotId,
            step,
            runId,
            activityId,
            updateId: updateId ?? null,
            phase: state.phase,
            actorId: actor?.id ?? null,
            actorRole: actor?.role ?? null,
            reason: reason ?? null,
            data: stepData(state) as Prisma.InputJsonValue,
            occurredAt: new Date(state.updatedAt),
          },
          skipDuplicates: true,
        });
      });
    },
  };
}

function closedAt(state: PilotState): Date | null {
  if (state.phase !== 'closed') return null;
  const passed = state.acceptances.find((a) => a.outcome === 'passed');
  return new Date(passed?.at ?? state.updatedAt);
}

/** What an auditor needs to read the step without the workflow: no contacts, no documents. */
function stepData(state: PilotState) {
  return {
    phase: state.phase,
    waitingFor: state.waitingFor,
    approvedAmountFen: state.approvedAmountFen,
    tranches: state.tranches,
    due: state.due,
  };
}
