/**
 * Every staff action on a pilot, declared once. The key is the action's wire name: the name of its
 * Temporal Update, recorded in every history that ever received it, so it never changes. From the
 * same entry the workflow registers its handler and validator, and the API derives the route, the
 * roles it admits, its OpenAPI operation and its request schema.
 *
 * Guards are pure: (state, call, input, now) → a refusal or null. The workflow runs them in the
 * Update's validator, so a refused action leaves no trace in history.
 */
import type { z } from 'zod';
import { expectedPdfName, formIssuesAgainst } from './application-form';
import type { Call } from './call';
import type { RefusalCode } from './errors';
import { jsonShapeIssue, MAX_JSON_DEPTH } from './json-limits';
import {
  ENDED_PHASES,
  ExpertScore,
  Extension,
  FinalReport,
  IntegrityFlag,
  MidtermReport,
  Objection,
  Rectification,
  ReviewDecision,
  Submission,
  ReclaimClosure,
  TrancheConfirmation,
  TrancheVoid,
  Verdict,
  Withdrawal,
  acting,
  type Acting,
  type PilotState,
  type Role,
  type Tranche,
} from './pilot';

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

export interface StaffAction<S extends z.ZodType = z.ZodType> {
  /** The input, without the actor (every action carries one). */
  schema: S;
  guard: Guard<z.output<S>>;
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

const refusal = (code: RefusalCode, detail?: string): Refusal => (detail === undefined ? { code } : { code, detail });
const action = <S extends z.ZodType>(entry: StaffAction<S>): StaffAction<S> => entry;
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
    schema: Submission,
    guard: (state, call, { form, pdf }, now) => {
      if (now >= Date.parse(call.submissionDeadline)) return refusal('SUBMISSION_DEADLINE_PASSED');
      if (state.phase !== 'registered' || state.submission) return refusal('ALREADY_SUBMITTED');
      const issues = formIssuesAgainst(form, call, {
        pilotUnitName: state.pilotUnit.name,
        applicantUnitName: state.applicantUnit.name,
        provincial: state.provincial,
      });
      if (issues.length) return refusal('VALIDATION_FAILED', issues.map((i) => `${i.path}: ${i.message}`).join('; '));
      if (pdf.fileName.normalize('NFC') !== expectedPdfName(state.applicantUnit.name)) return refusal('PDF_WRONG_NAME');
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
    schema: ExpertScore,
    guard: (state, _call, score) => {
      if (state.phase === 'registered') return refusal('NOT_YET_SUBMITTED');
      if (!reviewOpen(state)) return refusal('ALREADY_DECIDED');
      // 回避: an expert from the applicant's own province does not score it.
      if (score.expert.province === state.province)
        return refusal('EXPERT_CONFLICT_OF_INTEREST', score.expert.province);
      if (state.expertScores.some((s) => s.expert.id === score.expert.id)) return refusal('EXPERT_ALREADY_SCORED');
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
    schema: ReviewDecision,
    guard: (state, call, decision) => {
      if (state.phase === 'registered') return refusal('NOT_YET_SUBMITTED');
      if (!reviewOpen(state) || state.review) return refusal('ALREADY_DECIDED');
      if (state.expertScores.length < call.review.minExpertScores) {
        return refusal('NOT_ENOUGH_EXPERT_SCORES', `${state.expertScores.length}/${call.review.minExpertScores}`);
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
    schema: Objection,
    guard: (state, _call, _objection, now) => {
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
    schema: TrancheConfirmation,
    guard: (state, _call, { tranche }) => openInstruction(state, tranche),
    drives: false,
    afterEnd: true,
    route: {
      path: 'tranches/:tranche/confirmation',
      roles: FINANCE,
      summary: '财务确认拨款已执行 / Finance confirms a payment instruction was executed',
    },
  }),

  voidTranche: action({
    schema: TrancheVoid,
    // Confirm and void exclude each other: whichever the ledger took first stands. A running
    // pilot's instruction is not voided: the pilot would go on unfunded, with no way to instruct
    // the tranche again.
    guard: (state, _call, { tranche }) =>
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
    schema: ReclaimClosure,
    guard: (state, _call, { tranche }) => {
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
    schema: MidtermReport,
    guard: (state) => (state.phase !== 'in_progress' || state.midtermReport ? wrongPhase(state) : null),
    drives: true,
    route: { path: 'midterm-report', roles: STAFF, summary: '中期报告 / Midterm report received' },
  }),

  evaluateMidterm: action({
    schema: Verdict,
    guard: (state) => (state.phase !== 'midterm_review' || state.midtermEvaluation ? wrongPhase(state) : null),
    drives: true,
    route: { path: 'midterm-evaluation', roles: REVIEWERS, summary: '中期评审结论 / Midterm evaluation result' },
  }),

  submitFinalReport: action({
    schema: FinalReport,
    guard: (state) =>
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
    schema: Verdict,
    // One verdict per round: the round's verdict closes it until a rectification opens the next.
    guard: (state) =>
      state.phase !== 'acceptance_review' || state.acceptances.length > state.rectifications.length
        ? wrongPhase(state)
        : null,
    drives: true,
    route: { path: 'acceptance', roles: REVIEWERS, summary: '结项验收结论 / Final acceptance result' },
  }),

  submitRectification: action({
    schema: Rectification,
    guard: (state) =>
      state.phase !== 'rectifying' || state.rectifications.length >= state.acceptances.length
        ? wrongPhase(state)
        : null,
    drives: true,
    route: { path: 'rectification', roles: STAFF, summary: '整改报告 / Rectification report' },
  }),

  extendDueDate: action({
    schema: Extension,
    guard: (state, _call, { which, until }, now) => {
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
    schema: Withdrawal,
    guard: () => null,
    drives: false,
    route: { path: 'withdrawal', roles: STAFF, summary: '撤销试点 / Withdraw the pilot, with a reason' },
  }),

  flagIntegrity: action({
    schema: IntegrityFlag,
    guard: () => null,
    drives: false,
    route: { path: 'integrity-flag', roles: STAFF, summary: '弄虚作假认定 / Flag false material' },
  }),
};

export type StaffActionName = keyof typeof STAFF_ACTIONS;
export type StaffActionInput<N extends StaffActionName> = z.output<(typeof STAFF_ACTIONS)[N]['schema']>;
export const STAFF_ACTION_NAMES = Object.keys(STAFF_ACTIONS) as StaffActionName[];

/** One entry, typed by its name (TypeScript cannot narrow the table by a generic key). */
export function staffAction<N extends StaffActionName>(name: N): StaffAction<z.ZodType<StaffActionInput<N>>> {
  return STAFF_ACTIONS[name] as unknown as StaffAction<z.ZodType<StaffActionInput<N>>>;
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
    return refusal(state.phase === 'expired' ? 'SUBMISSION_DEADLINE_PASSED' : 'PILOT_ENDED');
  }
  return entry.guard(state, call, input, now);
}

/**
 * The shape check every action's input gets before its guard: updates can come from any client
 * (the CLI, scripts), not only the API, so the workflow checks shapes itself.
 */
export function parseActing<S extends z.ZodType>(
  schema: S,
  input: unknown,
): { ok: true; value: Acting<z.output<S>> } | { ok: false; refusal: Refusal } {
  // Another client may send an Update the API never saw: deep nesting is refused before anything
  // recursive (zod, firstDifference) walks it, so the validator refuses rather than overflows.
  // PostgreSQL cannot store NUL in text either: refused here rather than in a retried activity.
  const shape = jsonShapeIssue(input);
  if (shape?.kind === 'too-deep') {
    return { ok: false, refusal: refusal('JSON_TOO_DEEP', `more than ${MAX_JSON_DEPTH} levels`) };
  }
  if (shape?.kind === 'nul') {
    return { ok: false, refusal: refusal('VALIDATION_FAILED', 'NUL characters are not allowed') };
  }
  const parsed = acting(schema).safeParse(input);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ');
    return { ok: false, refusal: refusal('VALIDATION_FAILED', where) };
  }
  // Handlers store the input exactly as recorded (they must not depend on today's schemas when
  // they replay), so only an input already in its normal form is accepted: trimmed, instants in
  // UTC, no unknown fields. The API always sends it so.
  const differs = firstDifference(parsed.data, input);
  if (differs !== null) {
    return {
      ok: false,
      refusal: refusal('VALIDATION_FAILED', `${differs || 'input'}: not in normal form (trimmed, UTC, known fields)`),
    };
  }
  return { ok: true, value: parsed.data as Acting<z.output<S>> };
}

/** The path of the first place where two JSON values differ; null when they are equal. */
function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (a === b) return null;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return path;
  if (Array.isArray(a) !== Array.isArray(b)) return path;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const inner = firstDifference(
      (a as Record<string, unknown>)[key],
      (b as Record<string, unknown>)[key],
      path ? `${path}.${key}` : key,
    );
    if (inner !== null) return inner;
  }
  return null;
}
