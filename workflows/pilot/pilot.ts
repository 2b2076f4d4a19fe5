/**
 * The life of one reform pilot (试点) under a call, from registration to closure, as one durable
 * workflow. It reads top to bottom as the notice does; every number comes from the call snapshot
 * the workflow started with.
 *
 * Staff actions arrive as Updates (`staff-actions.ts`, declared in `domain/staff-actions.ts`); the
 * side effects live in `effects.ts`, and every wait goes through `blocking.ts`.
 */
import { patched } from '@temporalio/workflow';
import { toMs } from '../../domain/duration';
import { splitTranches } from '../../domain/money';
import { initialPilotState, type PilotStart, type PilotState } from '../../domain/pilot-state';
import { formatBeijing } from '../../domain/time';
import { PilotEnded } from './blocking';
import { PilotEffects } from './effects';
import { registerStaffActions } from './staff-actions';

export async function pilot(start: PilotStart): Promise<PilotState> {
  const { registration, call } = start;
  const timing = call.timing;
  const reminders = { before: timing.reminderBefore.map(toMs), overdueEvery: toMs(timing.overdueReminderEvery) };
  const decisionReminders = { before: [], overdueEvery: toMs(timing.overdueReminderEvery) };
  const pilotContacts = registration.contacts.map((c) => c.email);
  const office = [call.office.email];

  // Registered when the API started it (sent since the API answers without waiting for this task).
  const state = initialPilotState(start, start.registeredAt ?? new Date(Date.now()).toISOString());
  // Histories recorded before a change replay as they ran (README, "Changing workflow code").
  const life = new PilotEffects(state, call, pilotContacts, {
    auditable: patched('search-attributes-and-summaries'),
    ledgerFirst: patched('ledger-first-outbox'),
    slim: patched('slim-history'),
    asWritten: patched('notice-as-written'),
  });
  if (!life.rules.asWritten) state.entryUntil = null;
  const { record, wait, after, now } = bind(life);
  registerStaffActions(life);

  try {
    await record('registered', start.registeredBy);

    // 1. Submission of the sealed application by the deadline; late ones are not accepted (逾期不予受理).
    //    Lateness is judged on arrival (the staff action's guard): an application that arrived by the
    //    deadline may be keyed in until the entry period ends, and the pilot waits for it.
    let submitted = await wait({
      step: 'submission',
      done: () => state.submission !== null,
      due: () => call.submissionDeadline,
      reminders: { before: reminders.before, overdueEvery: null },
      expiresAtDue: true,
      to: pilotContacts,
    });
    if (submitted === 'expired' && state.entryUntil) {
      submitted = await wait({
        step: 'submission',
        key: 'submission-entry',
        done: () => state.submission !== null,
        due: () => state.entryUntil!,
        reminders: { before: [], overdueEvery: null },
        expiresAtDue: true,
        to: office,
      });
    }
    if (submitted === 'expired') {
      state.phase = 'expired';
      await record('expired');
      return await finish();
    }
    state.phase = 'submitted';
    await record('submitted', state.submission!);

    // 2. Expert review, then the panel's decision, then the public notice (公示).
    for (let round = 0; ; round += 1) {
      await wait({
        step: 'review-decision',
        key: `review-decision-${round}`,
        done: () => state.review !== null,
        due: () => after(state.submission!.at, timing.reviewWithin),
        reminders: decisionReminders,
        to: office,
      });
      const decision = state.review!;
      if (decision.outcome === 'rejected') {
        state.phase = 'rejected';
        await record(`review-decided:${round}`, decision, decision.reason);
        return await finish();
      }
      const objections = state.objections.length;
      state.phase = 'public_notice';
      state.publicNotice = {
        startedAt: now(),
        endsAt: after(now(), timing.publicNoticePeriod),
        objectionsBefore: objections,
      };
      state.waitingFor = { what: 'public-notice', until: state.publicNotice.endsAt };
      await record(`review-decided:${round}`, decision, decision.reason);
      const objected = await life.blockUntil(
        () => state.objections.length > objections || life.ended(),
        Math.max(0, Date.parse(state.publicNotice.endsAt) - Date.now()),
        life.summary(`公示期 public notice ends ${formatBeijing(state.publicNotice.endsAt)}`),
      );
      if (life.ended()) throw new PilotEnded();
      if (!objected) break;
      // An objection sends the decision back to the experts.
      const objection = state.objections.at(-1)!;
      state.phase = 'under_review';
      state.review = null;
      state.publicNotice = null;
      await record(`objection:${state.objections.length}`, objection, objection.reason);
    }
    state.approvedAmountFen = (state.review as Extract<PilotState['review'], { outcome: 'approved' }>).amountFen;
    const amounts = splitTranches(state.approvedAmountFen, call.firstTrancheBasisPoints);
    const tranche = (amountFen: number) => ({
      amountFen,
      status: 'pending' as const,
      issuedAt: null,
      confirmation: null,
      withheld: null,
    });
    state.tranches = { first: tranche(amounts.first), tail: tranche(amounts.tail) };
    await record('public-notice-passed');

    // 3. The first tranche (50%) is instructed, and the pilot's work begins.
    await life.money.issueTranche('first');
    if (life.ended()) throw new PilotEnded();
    state.phase = 'in_progress';
    state.startedWorkAt = now();
    state.due.midtermReport = after(state.startedWorkAt, timing.midtermReportDueAfter);
    state.due.finalReport = after(state.startedWorkAt, timing.finalReportDueAfter);
    await record('work-started');

    // 4. Midterm report, then the midterm evaluation (中期评审): failing it withholds the tail (不予拨付尾款).
    await wait({
      step: 'midterm-report',
      done: () => state.midtermReport !== null,
      due: () => state.due.midtermReport!,
      reminders,
      to: pilotContacts,
    });
    state.phase = 'midterm_review';
    await record('midterm-report-submitted', state.midtermReport!);
    await wait({
      step: 'midterm-evaluation',
      done: () => state.midtermEvaluation !== null,
      due: () => after(state.midtermReport!.at, timing.midtermEvaluationWithin),
      reminders: decisionReminders,
      to: office,
    });
    const midterm = state.midtermEvaluation!;
    if (midterm.outcome === 'passed') {
      state.phase = 'midterm_passed';
      await record('midterm-evaluated', midterm, midterm.reason);
      await life.money.issueTranche('tail');
    } else {
      state.phase = 'tail_withheld';
      await record('midterm-evaluated', midterm, midterm.reason);
      if (life.ended()) throw new PilotEnded();
      await life.money.withhold('tail', midterm.reason);
      await record('tail-withheld', midterm, midterm.reason);
    }

    // 5. Final report (the pilot report, typical cases, institutional innovations), then acceptance
    //    (结项验收): passed closes the pilot; failed leaves it not closed (不予结项) once the
    //    configured rectification rounds are used up.
    await wait({
      step: 'final-report',
      done: () => state.finalReport !== null,
      due: () => state.due.finalReport!,
      reminders,
      to: pilotContacts,
    });
    state.phase = 'acceptance_review';
    state.due.acceptance = after(state.finalReport!.at, timing.acceptanceWithin);
    await record('final-report-submitted', state.finalReport!);

    for (let round = 0; ; round += 1) {
      await wait({
        step: 'acceptance',
        done: () => state.acceptances.length > round,
        due: () => state.due.acceptance!,
        reminders: decisionReminders,
        to: office,
      });
      const verdict = state.acceptances[round]!;
      if (verdict.outcome === 'passed') {
        state.phase = 'closed'; // 结项
        await record(`acceptance:${round}`, verdict, verdict.reason);
        break;
      }
      if (round >= timing.rectificationRounds) {
        state.phase = 'not_closed'; // 不予结项
        await record(`acceptance:${round}`, verdict, verdict.reason);
        break;
      }
      state.phase = 'rectifying'; // 整改
      state.rectificationDue = after(now(), timing.rectificationPeriod);
      await record(`acceptance:${round}`, verdict, verdict.reason);
      const rectified = await wait({
        step: 'rectification',
        done: () => state.rectifications.length > round,
        due: () => state.rectificationDue!,
        reminders: { before: reminders.before, overdueEvery: null },
        expiresAtDue: true,
        to: pilotContacts,
      });
      if (rectified === 'expired') {
        state.phase = 'not_closed';
        await record(`rectification-missed:${round + 1}`);
        break;
      }
      state.phase = 'acceptance_review';
      state.due.acceptance = after(now(), timing.acceptanceWithin);
      await record(`rectification:${round + 1}`, state.rectifications[round]!);
    }
    return await finish();
  } catch (error) {
    if (error instanceof PilotEnded) return finish();
    throw error;
  }

  /**
   * The pilot's story is over; the workflow still waits until finance has confirmed or voided
   * every instruction (and closed every reclaim).
   */
  async function finish(): Promise<PilotState> {
    state.waitingFor = null;
    life.publish();
    life.settle();
    await life.money.announceOpenInstructions();
    await life.money.moneySettled();
    return state;
  }
}

/** The effects the lifecycle uses at every step, as plain functions. */
function bind(life: PilotEffects) {
  return {
    record: life.record.bind(life),
    wait: life.wait.bind(life),
    after: life.after.bind(life),
    now: life.now.bind(life),
  };
}
