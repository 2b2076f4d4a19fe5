/**
 * Every staff action on a pilot, declared once. The key is the action's wire name: the name of its
 * Temporal Update, recorded in every history that ever received it, so it never changes. From the
 * same entry the workflow registers its handler and validator, and the API derives the route, the
 * roles it admits, its OpenAPI operation and its request schema.
 *
 * Guards are pure: (state, call, input, now) → a refusal or null. The workflow runs them in the
 * Update's validator, so a refused action leaves no trace in history.
 */
import type { Call } from './call';
import type { RefusalCode } from './errors';
import { jsonShapeIssue, MAX_JSON_DEPTH } from './json-limits';
import type {
  Acting,
  ExpertScore,
  Extension,
  FinalReport,
  IntegrityFlag,
  MidtermReport,
  Objection,
  ReclaimClosure,
  Rectification,
  ReviewDecision,
  Role,
  TrancheConfirmation,
  TrancheVoid,
  Verdict,
  Withdrawal,
} from './pilot';
import {
  ENDED_PHASES,
  EXTENDABLE,
  ROLES,
  scoresOfCurrentRound,
  TRANCHES,
  type PilotState,
  type Tranche,
} from './pilot-state';
import { provinceName, sameProvince } from './provinces';
import { instant, list, number, object, oneOf, optional, sha256Hex, text, variants, type Shape } from './shapes';
import { PILOT_THEMES, pdfNameMatches, type SubmittedApplication } from './submission';
import { formatBeijing, formatBeijingInstant } from './time';

export interface Refusal {
  code: RefusalCode;
  detail?: string;
}

export type Guard<I> = (state: PilotState, call: Call, input: I, now: number) => Refusal | null;

/** Who may do what: the roles of the notice's actors. */
export const READERS: readonly Role[] = ['staff', 'reviewer', 'finance', 'auditor', 'admin'];
export const STAFF: readonly Role[] = ['staff', 'admin'];
export const REVIEWERS: readonly Role[] = ['reviewer', 'admin'];
export const FINANCE: readonly Role[] = ['finance', 'admin'];
export const AUDIT: readonly Role[] = ['auditor', 'staff', 'admin'];

export interface StaffAction<I = unknown> {
  /**
   * The input's light shape, without the actor (every action carries one): what the workflow's
   * validator checks. The API checks the full schema (`staff-action-schemas.ts`) first.
   */
  shape: Shape;
  guard: Guard<I>;
  /**
   * The action moves the lifecycle on: its answer waits until the lifecycle has acted on it.
   * Otherwise the handler's own effects are the whole action.
   */
  drives: boolean;
  /** Allowed after the pilot's story ended (finance still confirms what was instructed). */
  afterEnd?: boolean;
  route: {
    /** Under /pilots/:pilotId/; `:name` segments are input fields taken from the path. */
    path: string;
    roles: readonly Role[];
    /** "中文 / English" */
    summary: string;
    /** The input arrives as multipart/form-data (the sealed PDF) and the API builds it. */
    multipart?: true;
  };
}

/** How far ahead of the workflow's clock a stated arrival may be (clocks of API hosts differ). */
export const CLOCK_GRACE_MS = 60_000;

const refusal = (code: RefusalCode, detail?: string): Refusal => (detail === undefined ? { code } : { code, detail });
const action = <I>(entry: StaffAction<I>): StaffAction<I> => entry;
const reason = text(2000);
const reference = text(300);
const tranche = oneOf(TRANCHES);
const reviewOpen = (state: PilotState) => state.phase === 'submitted' || state.phase === 'under_review';
const wrongPhase = (state: PilotState) => refusal('WRONG_PHASE', state.phase);

/** An instruction finance can still confirm or void: in the ledger, neither confirmed nor voided. */
function openInstruction(state: PilotState, tranche: Tranche): Refusal | null {
  const t = state.tranches?.[tranche];
  if (!t || t.status === 'pending' || t.status === 'withheld') return refusal('TRANCHE_NOT_ISSUED');
  if (t.status === 'confirmed') return refusal('TRANCHE_ALREADY_CONFIRMED');
  if (t.status === 'voided') return refusal('TRANCHE_VOIDED');
  if (t.inFlight) return refusal('TRANCHE_BUSY');
  return null;
}

/** The due date an extension would move, if that step is what the pilot waits for now. */
export function pendingDue(state: PilotState, which: Extension['which']): string | null {
  if (which === 'midterm-report') return state.phase === 'in_progress' ? state.due.midtermReport : null;
  if (which === 'final-report') {
    return state.phase === 'midterm_passed' || state.phase === 'tail_withheld' ? state.due.finalReport : null;
  }
  return state.phase === 'acceptance_review' ? state.due.acceptance : null;
}

export const STAFF_ACTIONS = {
  submit: action({
    shape: object({
      formHash: sha256Hex,
      themes: list(oneOf(PILOT_THEMES), 1, PILOT_THEMES.length, true),
      pdf: object({ sha256: sha256Hex, fileName: text(200, 5), sizeBytes: number(1, Number.MAX_SAFE_INTEGER, true) }),
      receivedAt: optional(instant),
      receipt: optional(
        variants('via', {
          email: object({ via: oneOf(['email']), receivedId: text(200) }),
          other: object({ via: oneOf(['other']) }),
        }),
      ),
    }),
    // The form itself was checked by the API against the call and the registration before it was
    // stored under its hash (formIssuesAgainst).
    guard: (state: PilotState, call: Call, { pdf, receivedAt }: SubmittedApplication, now: number) => {
      // 逾期不予受理 is judged on when the application arrived; entry may follow within the entry
      // period (pilots started before it existed: entry ends at the deadline).
      const arrived = receivedAt === undefined ? now : Date.parse(receivedAt);
      // The API's clock and Temporal's may differ a little: an arrival just "ahead" is now.
      if (arrived > now + CLOCK_GRACE_MS) return refusal('RECEIVED_IN_FUTURE');
      if (arrived >= Date.parse(call.submissionDeadline)) {
        // To the second, never as 24:00: an arrival at 00:00 must not read as the deadline it missed.
        return refusal('SUBMISSION_LATE', `收到时间 received ${formatBeijingInstant(new Date(arrived))}`);
      }
      const entryEnds = state.entryUntil ?? call.submissionDeadline;
      if (now >= Date.parse(entryEnds)) {
        return state.entryUntil
          ? refusal('ENTRY_PERIOD_ENDED', formatBeijing(entryEnds))
          : refusal('SUBMISSION_DEADLINE_PASSED');
      }
      if (state.phase !== 'registered' || state.submission) return refusal('ALREADY_SUBMITTED');
      if (!pdfNameMatches(pdf.fileName, state.applicantUnit.name)) return refusal('PDF_WRONG_NAME');
      return null;
    },
    drives: true,
    route: {
      path: 'submission',
      roles: STAFF,
      summary: '提交申报书及盖章 PDF / Submit the application form with the sealed PDF',
      multipart: true,
    },
  }),

  recordExpertScore: action({
    shape: object({
      expert: object({ id: text(100), province: text(20, 2) }),
      score: number(0, 100),
      comment: text(2000),
    }),
    guard: (state: PilotState, _call: Call, score: ExpertScore) => {
      if (state.phase === 'registered') return refusal('NOT_YET_SUBMITTED');
      if (!reviewOpen(state)) return refusal('ALREADY_DECIDED');
      // 回避: an expert from the applicant's own province does not score it, however the province
      // is written (code, official or short name).
      if (sameProvince(score.expert.province, state.province))
        return refusal('EXPERT_CONFLICT_OF_INTEREST', provinceName(score.expert.province));
      if (scoresOfCurrentRound(state).some((s) => s.expert.id === score.expert.id))
        return refusal('EXPERT_ALREADY_SCORED');
      return null;
    },
    drives: false,
    route: {
      path: 'expert-scores',
      roles: REVIEWERS,
      summary: '专家评分（本省专家回避）/ An expert’s score (experts from the applicant’s province recuse)',
    },
  }),

  decideReview: action({
    shape: variants('outcome', {
      approved: object({ outcome: oneOf(['approved']), amountFen: number(0, 2_000_000_000, true), reason }),
      rejected: object({ outcome: oneOf(['rejected']), reason }),
    }),
    guard: (state: PilotState, call: Call, decision: ReviewDecision) => {
      if (state.phase === 'registered') return refusal('NOT_YET_SUBMITTED');
      if (!reviewOpen(state) || state.review) return refusal('ALREADY_DECIDED');
      // After an objection the experts review again: only this round's scores count.
      const scores = scoresOfCurrentRound(state).length;
      if (scores < call.review.minExpertScores) {
        return refusal('NOT_ENOUGH_EXPERT_SCORES', `${scores}/${call.review.minExpertScores}`);
      }
      if (
        decision.outcome === 'approved' &&
        (decision.amountFen < call.funding.minFen || decision.amountFen > call.funding.maxFen)
      ) {
        return refusal('AMOUNT_OUT_OF_RANGE', `${call.funding.minFen}–${call.funding.maxFen} fen`);
      }
      return null;
    },
    drives: true,
    route: {
      path: 'review-decision',
      roles: STAFF,
      summary: '评审结论：立项（核定经费）或不予立项 / Panel decision: approve with an amount, or reject',
    },
  }),

  raiseObjection: action({
    shape: object({ reason }),
    guard: (state: PilotState, _call: Call, _objection: Objection, now: number) => {
      const notice = state.publicNotice;
      if (state.phase !== 'public_notice' || !notice || now >= Date.parse(notice.endsAt)) {
        return refusal('NOT_IN_PUBLIC_NOTICE');
      }
      if (state.objections.length > notice.objectionsBefore) return refusal('NOT_IN_PUBLIC_NOTICE', 'already objected');
      return null;
    },
    drives: true,
    route: { path: 'objections', roles: STAFF, summary: '公示期内的异议 / An objection during the public notice' },
  }),

  confirmTranche: action({
    shape: object({ tranche, reference }),
    guard: (state: PilotState, _call: Call, { tranche }: TrancheConfirmation) => openInstruction(state, tranche),
    drives: false,
    afterEnd: true,
    route: {
      path: 'tranches/:tranche/confirmation',
      roles: FINANCE,
      summary: '财务确认拨款已执行 / Finance confirms a payment instruction was executed',
    },
  }),

  voidTranche: action({
    shape: object({ tranche, reason }),
    // Confirm and void exclude each other: whichever the ledger took first stands. A running
    // pilot's instruction is not voided: the pilot would go on unfunded, with no way to instruct
    // the tranche again.
    guard: (state: PilotState, _call: Call, { tranche }: TrancheVoid) =>
      openInstruction(state, tranche) ??
      (ENDED_PHASES.includes(state.phase) ? null : refusal('PILOT_STILL_RUNNING', state.phase)),
    drives: false,
    afterEnd: true,
    route: {
      path: 'tranches/:tranche/void',
      roles: FINANCE,
      summary: '作废未执行的拨款指令 / Finance voids a payment instruction that was not executed',
    },
  }),

  closeReclaim: action({
    shape: object({ tranche, reference }),
    guard: (state: PilotState, _call: Call, { tranche }: ReclaimClosure) => {
      const reclaim = state.tranches?.[tranche].reclaim;
      if (!reclaim) return refusal('RECLAIM_NOT_OPEN');
      if (reclaim.closed) return refusal('RECLAIM_ALREADY_CLOSED');
      if (state.tranches?.[tranche].inFlight) return refusal('TRANCHE_BUSY');
      return null;
    },
    drives: false,
    afterEnd: true,
    route: {
      path: 'tranches/:tranche/reclaim',
      roles: FINANCE,
      summary: '追回经费办结 / Finance closes the reclaim of a paid tranche, with its reference',
    },
  }),

  submitMidtermReport: action({
    shape: object({ reference }),
    guard: (state: PilotState, _call: Call, _report: MidtermReport) =>
      state.phase !== 'in_progress' || state.midtermReport ? wrongPhase(state) : null,
    drives: true,
    route: { path: 'midterm-report', roles: STAFF, summary: '中期报告 / Midterm report received' },
  }),

  evaluateMidterm: action({
    shape: object({ outcome: oneOf(['passed', 'failed']), reason }),
    guard: (state: PilotState, _call: Call, _verdict: Verdict) =>
      state.phase !== 'midterm_review' || state.midtermEvaluation ? wrongPhase(state) : null,
    drives: true,
    route: { path: 'midterm-evaluation', roles: REVIEWERS, summary: '中期评审结论 / Midterm evaluation result' },
  }),

  submitFinalReport: action({
    shape: object({
      reportReference: reference,
      typicalCases: list(reference, 1, 20),
      institutionalInnovations: list(reference, 1, 20),
    }),
    guard: (state: PilotState, _call: Call, _report: FinalReport) =>
      (state.phase !== 'midterm_passed' && state.phase !== 'tail_withheld') || state.finalReport
        ? wrongPhase(state)
        : null,
    drives: true,
    route: {
      path: 'final-report',
      roles: STAFF,
      summary: '结项报告（试点报告、典型案例、制度创新）/ Final report',
    },
  }),

  decideAcceptance: action({
    shape: object({ outcome: oneOf(['passed', 'failed']), reason }),
    // One verdict per round: the round's verdict closes it until a rectification opens the next.
    guard: (state: PilotState, _call: Call, _verdict: Verdict) =>
      state.phase !== 'acceptance_review' || state.acceptances.length > state.rectifications.length
        ? wrongPhase(state)
        : null,
    drives: true,
    route: { path: 'acceptance', roles: REVIEWERS, summary: '结项验收结论 / Final acceptance result' },
  }),

  submitRectification: action({
    shape: object({ reference }),
    guard: (state: PilotState, _call: Call, _rectification: Rectification) =>
      state.phase !== 'rectifying' || state.rectifications.length >= state.acceptances.length
        ? wrongPhase(state)
        : null,
    drives: true,
    route: { path: 'rectification', roles: STAFF, summary: '整改报告 / Rectification report' },
  }),

  extendDueDate: action({
    shape: object({ which: oneOf(EXTENDABLE), until: instant, reason }),
    guard: (state: PilotState, _call: Call, { which, until }: Extension, now: number) => {
      const current = pendingDue(state, which);
      if (!current) return refusal('NOTHING_TO_EXTEND', which);
      if (Date.parse(until) <= Math.max(Date.parse(current), now)) return refusal('EXTENSION_NOT_LATER');
      return null;
    },
    drives: false,
    route: {
      path: 'extensions',
      roles: STAFF,
      summary: '延期（中期报告、结项报告、验收）/ Move a due date, with a reason',
    },
  }),

  withdraw: action({
    shape: object({ reason }),
    guard: (_state: PilotState, _call: Call, _withdrawal: Withdrawal) => null,
    drives: false,
    route: { path: 'withdrawal', roles: STAFF, summary: '撤销试点 / Withdraw the pilot, with a reason' },
  }),

  flagIntegrity: action({
    shape: object({ reason }),
    guard: (_state: PilotState, _call: Call, _flag: IntegrityFlag) => null,
    drives: false,
    route: { path: 'integrity-flag', roles: STAFF, summary: '弄虚作假认定 / Flag false material' },
  }),
};

export type StaffActionName = keyof typeof STAFF_ACTIONS;
export type StaffActionInput<N extends StaffActionName> = Parameters<(typeof STAFF_ACTIONS)[N]['guard']>[2];
export const STAFF_ACTION_NAMES = Object.keys(STAFF_ACTIONS) as StaffActionName[];

/** One entry, typed by its name (TypeScript cannot narrow the table by a generic key). */
export function staffAction<N extends StaffActionName>(name: N): StaffAction<StaffActionInput<N>> {
  return STAFF_ACTIONS[name] as unknown as StaffAction<StaffActionInput<N>>;
}

/**
 * The whole check of an action that parsed: the phases in which no action is taken any more, then
 * the action's own guard.
 */
export function refusalOf<N extends StaffActionName>(
  name: N,
  state: PilotState,
  call: Call,
  input: StaffActionInput<N>,
  now: number,
): Refusal | null {
  const entry = staffAction(name);
  if (ENDED_PHASES.includes(state.phase) && !entry.afterEnd) {
    // An expired pilot's submission is refused for the rule it broke: late arrival, or entry too late.
    if (state.phase === 'expired') {
      const why = name === 'submit' ? entry.guard(state, call, input, now) : null;
      const told = ['SUBMISSION_LATE', 'ENTRY_PERIOD_ENDED', 'RECEIVED_IN_FUTURE'] as const;
      return why && (told as readonly string[]).includes(why.code) ? why : refusal('SUBMISSION_DEADLINE_PASSED');
    }
    return refusal('PILOT_ENDED');
  }
  return entry.guard(state, call, input, now);
}

/**
 * Deep nesting and NUL are refused before anything walks the input (a shape check, zod): a refusal,
 * not a stack overflow; PostgreSQL cannot store NUL in text.
 */
export function jsonShapeRefusal(input: unknown): Refusal | null {
  const shape = jsonShapeIssue(input);
  if (shape?.kind === 'too-deep') return refusal('JSON_TOO_DEEP', `more than ${MAX_JSON_DEPTH} levels`);
  if (shape?.kind === 'nul') return refusal('VALIDATION_FAILED', 'NUL characters are not allowed');
  return null;
}

const ACTING = { actor: object({ id: text(100), role: oneOf(ROLES) }), requestedAt: optional(instant) };

/**
 * The shape check every action's input gets in the workflow's validator before its guard: Updates
 * can come from any client (the CLI, scripts), not only the API. Deep nesting and NUL are refused
 * before anything walks the input.
 */
export function checkActing<N extends StaffActionName>(
  name: N,
  input: unknown,
): { ok: true; value: Acting<StaffActionInput<N>> } | { ok: false; refusal: Refusal } {
  const shapeRefusal = jsonShapeRefusal(input);
  if (shapeRefusal) return { ok: false, refusal: shapeRefusal };
  const issue = actingShapes[name](input, '');
  if (issue) return { ok: false, refusal: refusal('VALIDATION_FAILED', issue) };
  return { ok: true, value: input as Acting<StaffActionInput<N>> };
}

/** Each action's shape with the actor's fields, built once per workflow (not per validation). */
const actingShapes = Object.fromEntries(
  STAFF_ACTION_NAMES.map((name) => [name, withActor(STAFF_ACTIONS[name].shape)]),
) as Record<StaffActionName, Shape>;

/** The action's own fields and the actor's, in one object. */
function withActor(shape: Shape): Shape {
  return (value, path) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'input: an object';
    const { actor, requestedAt, ...rest } = value as Record<string, unknown>;
    return object(ACTING)({ actor, ...(requestedAt === undefined ? {} : { requestedAt }) }, path) ?? shape(rest, path);
  };
}
