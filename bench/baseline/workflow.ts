/**
 * A bare-Temporal lifecycle of the product's shape: the Updates of the pilot's common path (each
 * with a cheap validator), its activities as no-ops in the same order (normal activities,
 * start-to-close 10 s), and one timer, the public notice. No codec, no database, no search
 * attributes, no reminder timers: what is left is what Temporal itself costs per lifecycle.
 *
 * The order, as a closed product pilot's history has it:
 *   record registered · submit → record · score → record · decide → record · public-notice timer
 *   · record, instruct first, record, record · confirm first → confirmation, record
 *   · midterm report → record · midterm passed → record, instruct tail, record
 *   · confirm tail → confirmation, record · final report → record · acceptance → record · closed
 */
import { allHandlersFinished, condition, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { BareActivities } from './activities';
import {
  bareConfirmTranche,
  bareDecideAcceptance,
  bareDecideReview,
  bareEvaluateMidterm,
  bareRecordExpertScore,
  bareStateQuery,
  bareSubmit,
  bareSubmitFinalReport,
  bareSubmitMidtermReport,
  type BarePhase,
  type BareStart,
  type BareState,
  type Confirmation,
  type Decision,
  type Reference,
  type Score,
  type Verdict,
} from './messages';

const { recordPilotStep, issuePaymentInstruction, recordTrancheConfirmation } = proxyActivities<BareActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' },
});

function inPhase(state: BareState, phase: BarePhase): void {
  if (state.phase !== phase) throw new Error(`not in phase ${phase} (${state.phase})`);
}

function referenced(input: Reference): void {
  if (typeof input.reference !== 'string' || input.reference.length === 0 || input.reference.length > 200) {
    throw new Error('a reference is required');
  }
}

export async function bareLifecycle(start: BareStart): Promise<BareState> {
  const state: BareState = {
    phase: 'registered',
    scores: 0,
    amountFen: null,
    tranches: { first: 'pending', tail: 'pending' },
  };
  let decided = false;
  setHandler(bareStateQuery, () => state);

  setHandler(
    bareSubmit,
    async () => {
      state.phase = 'submitted';
      await recordPilotStep('submitted');
      return state;
    },
    {
      validator: (input: Reference) => {
        inPhase(state, 'registered');
        referenced(input);
      },
    },
  );
  setHandler(
    bareRecordExpertScore,
    async () => {
      state.scores += 1;
      state.phase = 'under_review';
      await recordPilotStep(`expert-score:${state.scores}`);
      return state;
    },
    {
      validator: (input: Score) => {
        if (state.phase !== 'submitted' && state.phase !== 'under_review') throw new Error('not under review');
        if (!Number.isInteger(input.score) || input.score < 0 || input.score > 100) throw new Error('score 0–100');
      },
    },
  );
  setHandler(
    bareDecideReview,
    async (input) => {
      state.amountFen = input.amountFen;
      state.phase = 'public_notice';
      await recordPilotStep('review-decided:0');
      decided = true;
      return state;
    },
    {
      validator: (input: Decision) => {
        inPhase(state, 'under_review');
        if (state.scores < 1) throw new Error('no expert score yet');
        if (!Number.isInteger(input.amountFen) || input.amountFen <= 0) throw new Error('an amount in fen');
      },
    },
  );
  setHandler(
    bareConfirmTranche,
    async (input) => {
      await recordTrancheConfirmation(input.tranche);
      state.tranches[input.tranche] = 'confirmed';
      await recordPilotStep(`tranche-confirmed:${input.tranche}`);
      return state;
    },
    {
      validator: (input: Confirmation) => {
        if (state.tranches[input.tranche] !== 'issued') throw new Error(`tranche ${input.tranche} is not issued`);
        referenced(input);
      },
    },
  );
  setHandler(
    bareSubmitMidtermReport,
    async () => {
      state.phase = 'midterm_review';
      await recordPilotStep('midterm-report-submitted');
      return state;
    },
    {
      validator: (input: Reference) => {
        inPhase(state, 'in_progress');
        referenced(input);
      },
    },
  );
  setHandler(
    bareEvaluateMidterm,
    async () => {
      state.phase = 'midterm_passed';
      await recordPilotStep('midterm-evaluated');
      await issuePaymentInstruction('tail');
      state.tranches.tail = 'issued';
      await recordPilotStep('tranche-issued:tail');
      return state;
    },
    {
      validator: (input: Verdict) => {
        inPhase(state, 'midterm_review');
        if (input.outcome !== 'passed') throw new Error('the baseline knows only the common path');
      },
    },
  );
  setHandler(
    bareSubmitFinalReport,
    async () => {
      state.phase = 'acceptance_review';
      await recordPilotStep('final-report-submitted');
      return state;
    },
    {
      validator: (input: Reference) => {
        inPhase(state, 'midterm_passed');
        referenced(input);
      },
    },
  );
  setHandler(
    bareDecideAcceptance,
    async () => {
      await recordPilotStep('acceptance:0');
      state.phase = 'closed';
      return state;
    },
    {
      validator: (input: Verdict) => {
        inPhase(state, 'acceptance_review');
        if (input.outcome !== 'passed') throw new Error('the baseline knows only the common path');
      },
    },
  );

  await recordPilotStep('registered');
  await condition(() => decided);
  await sleep(start.publicNoticeMs);
  await recordPilotStep('public-notice-passed');
  await issuePaymentInstruction('first');
  state.tranches.first = 'issued';
  await recordPilotStep('tranche-issued:first');
  state.phase = 'in_progress';
  await recordPilotStep('work-started');
  await condition(() => state.phase === 'closed' && state.tranches.tail === 'confirmed');
  await condition(allHandlersFinished);
  return state;
}
