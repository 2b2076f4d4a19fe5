/**
 * The life of one reform pilot (试点), from registration under a call to its end, as one durable
 * workflow. It reads top to bottom; every rule's number comes from the call snapshot it started
 * with. Staff actions arrive as Updates whose validators refuse what the rules forbid, so a refused
 * action leaves no trace in history.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  defineQuery,
  defineUpdate,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { bilingual, type RefusalCode } from '../domain/errors';
import type { z } from 'zod';
import {
  acting,
  ReviewDecision,
  Submission,
  type Acting,
  type Actor,
  type PilotStart,
  type PilotState,
} from '../domain/pilot';

const { recordPilotStep } = proxyActivities<Activities>({
  // A database write: short, and retried for as long as the database is away.
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

export const pilotStateQuery = defineQuery<PilotState>('pilotState');
export const submitUpdate = defineUpdate<PilotState, [Acting<Submission>]>('submit');
export const decideReviewUpdate = defineUpdate<PilotState, [Acting<ReviewDecision>]>('decideReview');

export async function pilot(start: PilotStart): Promise<PilotState> {
  const { registration, call } = start;
  const now = () => new Date(Date.now()).toISOString();
  const state: PilotState = {
    pilotId: start.pilotId,
    callId: call.id,
    callName: call.name,
    phase: 'registered',
    pilotUnit: registration.pilotUnit,
    applicantUnit: registration.applicantUnit,
    province: registration.province,
    provincial: registration.provincial,
    registeredAt: now(),
    registeredBy: start.registeredBy,
    submissionDeadline: call.submissionDeadline,
    fundingRangeFen: { min: call.funding.minFen, max: call.funding.maxFen },
    submission: null,
    review: null,
    waitingFor: { what: 'submission', until: call.submissionDeadline },
    updatedAt: now(),
    version: 0,
  };

  const record = async (step: string, actor?: Actor, reason?: string) => {
    state.version += 1;
    state.updatedAt = now();
    await recordPilotStep({ step, state, actor, reason });
  };

  setHandler(pilotStateQuery, () => state);

  // Submission of the sealed application (申报材料); late submissions are not accepted.
  setHandler(
    submitUpdate,
    async ({ actor, ...submission }) => {
      state.phase = 'submitted';
      state.submission = { ...submission, at: now(), by: actor };
      state.waitingFor = { what: 'review-decision', until: null };
      await record('submitted', actor);
      return state;
    },
    {
      validator: (input) => {
        parseOrRefuse(acting(Submission), input);
        if (state.phase === 'expired' || Date.now() >= Date.parse(call.submissionDeadline)) {
          refuse('SUBMISSION_DEADLINE_PASSED');
        }
        if (state.phase !== 'registered') refuse('ALREADY_SUBMITTED');
      },
    },
  );

  // The expert review panel's decision (专家评审): approve with an amount in the call's range, or reject.
  setHandler(
    decideReviewUpdate,
    async ({ actor, ...decision }) => {
      state.phase = decision.outcome;
      state.review = { ...decision, at: now(), by: actor };
      state.waitingFor = null;
      await record('review-decided', actor, decision.reason);
      return state;
    },
    {
      validator: (input) => {
        const decision = parseOrRefuse(acting(ReviewDecision), input);
        if (state.phase === 'registered') refuse('NOT_YET_SUBMITTED');
        if (state.phase !== 'submitted') refuse('ALREADY_DECIDED');
        if (
          decision.outcome === 'approved' &&
          (decision.amountFen < call.funding.minFen || decision.amountFen > call.funding.maxFen)
        ) {
          refuse('AMOUNT_OUT_OF_RANGE', `${call.funding.minFen}–${call.funding.maxFen} fen`);
        }
      },
    },
  );

  await record('registered', start.registeredBy);

  const submitted = await condition(
    () => state.phase !== 'registered',
    Math.max(0, Date.parse(call.submissionDeadline) - Date.now()),
  );
  if (!submitted) {
    state.phase = 'expired'; // 逾期不予受理
    state.waitingFor = null;
    await record('expired');
    return state;
  }

  await condition(() => state.review !== null);
  await condition(allHandlersFinished);
  return state;
}

function refuse(code: RefusalCode, detail?: string): never {
  throw ApplicationFailure.create({ type: code, message: bilingual(code, detail), nonRetryable: true });
}

/** Updates can also come from other clients (the CLI, scripts): the workflow checks shapes itself. */
function parseOrRefuse<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ');
    refuse('VALIDATION_FAILED', where);
  }
  return parsed.data;
}
