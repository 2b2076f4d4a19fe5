/**
 * The pilot workflow's side of every staff action: the validator runs the action's guard from
 * `domain/staff-actions.ts` (a refused action leaves no event in history); the handler stores the
 * accepted input and, for actions that drive the lifecycle, answers once the lifecycle has acted
 * on it, so the answer shows the consequences.
 */
import { currentUpdateInfo, setHandler } from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import type { Acting, Done, PilotState } from '../../domain/pilot-state';
import {
  STAFF_ACTION_NAMES,
  checkActing,
  pendingDue,
  refusalOf,
  staffAction,
  type StaffActionInput,
  type StaffActionName,
} from '../../domain/staff-actions';
import type { PilotEffects } from './effects';
import { CALENDAR_DATE, endOfBeijingDay } from '../../domain/time';
import { pilotStateQuery, staffUpdates } from './messages';
import { refusalFailure } from './refusal';

type Accept = { [N in StaffActionName]: (input: StaffActionInput<N>, done: Done) => void | Promise<void> };

/** What each accepted action changes; the lifecycle in `pilot.ts` acts on the rest. */
function acceptors(life: PilotEffects): Accept {
  const { state } = life;
  return {
    submit: (submission, done) => {
      // Since patch 'notice-as-written' the submission says when it arrived: entered now, if not said.
      state.submission = life.rules.asWritten
        ? { ...submission, ...done, receivedAt: submission.receivedAt ?? done.at }
        : { ...submission, ...done };
    },
    recordExpertScore: async (score, done) => {
      // Since patch 'notice-as-written' a score belongs to its review round (objections before it).
      state.expertScores.push(
        life.rules.asWritten ? { ...score, ...done, round: state.objections.length } : { ...score, ...done },
      );
      state.phase = 'under_review';
      await life.record(`expert-score:${score.expert.id}:${state.objections.length}`, done, score.comment);
    },
    decideReview: (decision, done) => {
      state.review = { ...decision, ...done };
    },
    raiseObjection: (objection, done) => {
      state.objections.push({ ...objection, ...done });
    },
    confirmTranche: ({ tranche, reference }, done) => life.money.confirmTranche(tranche, reference, done),
    voidTranche: ({ tranche, reason }, done) => life.money.voidTranche(tranche, reason, done),
    closeReclaim: ({ tranche, reference }, done) => life.money.closeReclaim(tranche, reference, done),
    submitMidtermReport: (report, done) => {
      state.midtermReport = { ...report, ...done };
    },
    evaluateMidterm: (verdict, done) => {
      state.midtermEvaluation = { ...verdict, ...done };
    },
    submitFinalReport: (report, done) => {
      state.finalReport = { ...report, ...done };
    },
    decideAcceptance: (verdict, done) => {
      state.acceptances.push({ ...verdict, ...done, round: state.rectifications.length });
    },
    submitRectification: (rectification, done) => {
      state.rectifications.push({ ...rectification, ...done, round: state.rectifications.length + 1 });
    },
    extendDueDate: async (extension, done) => {
      const from = pendingDue(state, extension.which);
      const key =
        extension.which === 'midterm-report'
          ? 'midtermReport'
          : extension.which === 'final-report'
            ? 'finalReport'
            : 'acceptance';
      state.due[key] = extension.until;
      if (state.waitingFor) state.waitingFor.until = extension.until;
      state.extensions.push({ ...extension, ...done, from });
      await life.record(`extended:${extension.which}:${state.extensions.length}`, done, extension.reason);
    },
    withdraw: async ({ reason }, done) => {
      state.phase = 'withdrawn';
      state.ending = { kind: 'withdrawn', reason, ...done };
      state.waitingFor = null;
      await life.money.withholdPending(reason);
      await life.record('withdrawn', done, reason);
    },
    flagIntegrity: async ({ reason }, done) => {
      state.phase = 'integrity_failed'; // 弄虚作假
      state.ending = { kind: 'integrity_failed', reason, ...done };
      state.waitingFor = null;
      await life.flagUnitIntegrity(reason, done);
      await life.money.withholdPending(reason);
      await life.record('integrity-failed', done, reason);
      await life.money.reclaimPaid();
    },
  };
}

/** Registers the state query and one Update handler per entry of the staff-action table. */
export function registerStaffActions(life: PilotEffects): void {
  setHandler(pilotStateQuery, () => life.state);
  const accept = acceptors(life);
  for (const name of STAFF_ACTION_NAMES) register(name, life, accept);
}

function register<N extends StaffActionName>(name: N, life: PilotEffects, accept: Accept): void {
  const entry = staffAction(name);
  setHandler(
    staffUpdates[name] as UpdateDefinition<PilotState, [Acting<StaffActionInput<N>>]>,
    async (input) => {
      // The input as recorded: the validator refused anything but its normal form, and handlers
      // never parse (they run on replay, where today's rules may be stricter than the ones that
      // accepted the input).
      const { actor, requestedAt: _requestedAt, ...rest } = input;
      const before = life.mark();
      const recorded = life.rules.ledgerFirst ? rest : normalisedAsBefore(rest);
      await accept[name](recorded as unknown as StaffActionInput<N>, {
        at: life.now(),
        by: actor,
        updateId: currentUpdateInfo()?.id,
      });
      if (entry.drives) await life.afterSettled(before);
      return life.state;
    },
    {
      validator: (input) => {
        const checked = checkActing(name, input);
        if (!checked.ok) throw refusalFailure(checked.refusal);
        const refusal = refusalOf(name, life.state, life.call, checked.value, Date.now());
        if (refusal) throw refusalFailure(refusal);
      },
    },
  );
}

/**
 * Before patch 'ledger-first-outbox' validators accepted any input that parsed and handlers stored
 * the parsed form. The API always sent it parsed; for another client's input, what parsing did is
 * done here without the schemas: strings trimmed, a calendar-date extension moved to 24:00 Beijing
 * time of that day. (Unknown fields, which parsing dropped, are kept: no guard or step reads them.)
 */
function normalisedAsBefore(input: Record<string, unknown>): Record<string, unknown> {
  const trimmed = (value: unknown): unknown => {
    if (typeof value === 'string') return value.trim();
    if (Array.isArray(value)) return value.map(trimmed);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, trimmed(v)]));
    }
    return value;
  };
  const result = trimmed(input) as Record<string, unknown>;
  if (typeof result.until === 'string' && CALENDAR_DATE.test(result.until)) {
    result.until = endOfBeijingDay(result.until).toISOString();
  }
  return result;
}
