import { Context } from '@temporalio/activity';
import type { Db } from '../lib/db';
import { submittedThemes, type Actor, type PilotState } from '../domain/pilot';

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
    themes: submittedThemes(state),
    approvedAmountFen:
      state.approvedAmountFen ?? (state.review?.outcome === 'approved' ? state.review.amountFen : null),
    tailWithheld: state.tranches?.tail.status === 'withheld',
    registeredAt: new Date(state.registeredAt),
    submittedAt: state.submission ? new Date(state.submission.at) : null,
    decidedAt: state.review ? new Date(state.review.at) : null,
    // The time of the acceptance that closed it (结项), whatever is written later.
    closedAt: closedAt(state),
    // 公示 of the current review round: set on approval, null again once an objection sends the
    // decision back to review (the public list shows only pilots that have these).
    publicNoticeStartedAt: state.publicNotice ? new Date(state.publicNotice.startedAt) : null,
    publicNoticeEndsAt: state.publicNotice ? new Date(state.publicNotice.endsAt) : null,
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
      const at = (date: Date | null) => date?.toISOString() ?? null;
      // One statement, so one round trip: the pilot's row (never back to an older state version:
      // two steps' writes racing, or a retry arriving late) and the step's audit row (once per
      // pilot and step). The foreign key is checked at the statement's end, after both inserts.
      await db.$executeRaw`
        WITH upsert AS (
          INSERT INTO pilot (id, call_id, pilot_unit_code, pilot_unit_name, applicant_unit_name, province,
            provincial, phase, themes, approved_amount_fen, registered_at, submitted_at, decided_at, closed_at,
            public_notice_started_at, public_notice_ends_at, tail_withheld, state_version, updated_at)
          VALUES (${state.pilotId}, ${row.callId}, ${row.pilotUnitCode}, ${row.pilotUnitName},
            ${row.applicantUnitName}, ${row.province}, ${row.provincial}, ${row.phase}, ${row.themes}::text[],
            ${row.approvedAmountFen}::int, ${at(row.registeredAt)}::timestamptz AT TIME ZONE 'UTC',
            ${at(row.submittedAt)}::timestamptz AT TIME ZONE 'UTC', ${at(row.decidedAt)}::timestamptz AT TIME ZONE 'UTC',
            ${at(row.closedAt)}::timestamptz AT TIME ZONE 'UTC',
            ${at(row.publicNoticeStartedAt)}::timestamptz AT TIME ZONE 'UTC',
            ${at(row.publicNoticeEndsAt)}::timestamptz AT TIME ZONE 'UTC', ${row.tailWithheld}, ${row.stateVersion}::int,
            now() AT TIME ZONE 'UTC')
          ON CONFLICT (id) DO UPDATE SET
            phase = EXCLUDED.phase, themes = EXCLUDED.themes, approved_amount_fen = EXCLUDED.approved_amount_fen,
            submitted_at = EXCLUDED.submitted_at, decided_at = EXCLUDED.decided_at, closed_at = EXCLUDED.closed_at,
            public_notice_started_at = EXCLUDED.public_notice_started_at,
            public_notice_ends_at = EXCLUDED.public_notice_ends_at,
            tail_withheld = EXCLUDED.tail_withheld, state_version = EXCLUDED.state_version,
            updated_at = EXCLUDED.updated_at
          WHERE pilot.state_version < EXCLUDED.state_version
        )
        INSERT INTO audit_event (pilot_id, step, run_id, activity_id, update_id, phase, actor_id, actor_role, reason,
          data, occurred_at)
        VALUES (${state.pilotId}, ${step}, ${runId}, ${activityId}, ${updateId ?? null}, ${state.phase},
          ${actor?.id ?? null}, ${actor?.role ?? null}, ${reason ?? null}, ${JSON.stringify(stepData(state))}::jsonb,
          ${state.updatedAt}::timestamptz AT TIME ZONE 'UTC')
        ON CONFLICT (pilot_id, step) DO NOTHING`;
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
