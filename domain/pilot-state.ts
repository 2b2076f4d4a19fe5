/**
 * The pilot's state as the workflow keeps it and the query returns it, and the state a pilot
 * starts in. Free of zod at run time (types only): the workflow bundle imports this module, and
 * every open workflow evaluates its own copy of each module its bundle imports.
 */
import type { Call } from './call';
import type {
  Actor,
  ExpertScore,
  Extension,
  FinalReport,
  MidtermReport,
  Objection,
  PilotRegistration,
  Rectification,
  ReviewDecision,
  Submission,
  Verdict,
} from './pilot';
import { toMs } from './duration';
import type { SubmittedApplication } from './submission';

export type { Actor, Role } from './pilot';

export const ROLES = ['staff', 'reviewer', 'finance', 'auditor', 'admin'] as const;
export const EXTENDABLE = ['midterm-report', 'final-report', 'acceptance'] as const;
export const TRANCHES = ['first', 'tail'] as const;
export type Tranche = (typeof TRANCHES)[number];

// ---- The pilot's state, as the workflow keeps it and the query returns it ------------------

/** Where a pilot's story ends; the workflow may still wait for finance to confirm payments. */
const ENDS = ['expired', 'rejected', 'closed', 'not_closed', 'withdrawn', 'integrity_failed'] as const;

export const PILOT_PHASES = [
  'registered',
  'submitted',
  'under_review',
  'public_notice',
  'in_progress',
  'midterm_review',
  'midterm_passed',
  'tail_withheld',
  'acceptance_review',
  'rectifying',
  ...ENDS,
] as const;
export type PilotPhase = (typeof PILOT_PHASES)[number];

export const ENDED_PHASES: readonly PilotPhase[] = ENDS;

export type WaitingFor =
  | 'submission'
  | 'review-decision'
  | 'public-notice'
  | 'midterm-report'
  | 'midterm-evaluation'
  | 'final-report'
  | 'acceptance'
  | 'rectification';

/** Every staff action reaches the workflow with its actor. */
export type Acting<T> = T & { actor: Actor; requestedAt?: string };

export interface Done {
  at: string;
  by: Actor;
  /** The Temporal update that carried the decision (its id is shown in the Web UI). */
  updateId?: string;
}

export interface TrancheState {
  amountFen: number;
  /**
   * pending → issued (its ledger row exists) → confirmed (executed) or voided (never executed);
   * or pending → withheld.
   */
  status: 'pending' | 'issued' | 'confirmed' | 'voided' | 'withheld';
  issuedAt: string | null;
  confirmation: (Done & { reference: string }) | null;
  withheld: { at: string; reason: string } | null;
  voided?: (Done & { reason: string }) | null;
  /** 追回: the paid amount of a pilot found to have submitted false material, until finance closes it. */
  reclaim?: {
    amountFen: number;
    openedAt: string;
    reason: string;
    closed: (Done & { reference: string }) | null;
  } | null;
  /** A ledger write for this tranche is under way: other money actions on it wait (409). */
  inFlight?: 'instruct' | 'confirm' | 'void' | 'reclaim' | null;
}

export interface PilotStart {
  pilotId: string;
  /** When the API registered it (UTC ISO); absent in histories started before it was sent. */
  registeredAt?: string;
  registration: PilotRegistration;
  call: Call;
  registeredBy: Actor;
}

export interface PilotState {
  pilotId: string;
  callId: string;
  callName: string;
  phase: PilotPhase;
  pilotUnit: { code: string; name: string };
  applicantUnit: { name: string; province?: string };
  province: string;
  provincial: boolean;
  registeredAt: string;
  registeredBy: Actor;
  submissionDeadline: string;
  /**
   * Until when an application received by the deadline may be keyed in (patch
   * 'notice-as-written'); null or absent: entry ends at the deadline, as before.
   */
  entryUntil?: string | null;
  fundingRangeFen: { min: number; max: number };
  /**
   * The application as received: since patch 'slim-history' the form by its content hash (the
   * form itself is in the database); before it, the whole form.
   */
  submission: ((SubmittedApplication | Submission) & Done) | null;
  /** `round`: the review round (objections before it) the score belongs to; absent before patch 'notice-as-written'. */
  expertScores: (ExpertScore & Done & { round?: number })[];
  review: (ReviewDecision & Done) | null;
  objections: (Objection & Done)[];
  publicNotice: { startedAt: string; endsAt: string; objectionsBefore: number } | null;
  approvedAmountFen: number | null;
  tranches: Record<Tranche, TrancheState> | null;
  startedWorkAt: string | null;
  due: { midtermReport: string | null; finalReport: string | null; acceptance: string | null };
  extensions: (Extension & Done & { from: string | null })[];
  midtermReport: (MidtermReport & Done) | null;
  midtermEvaluation: (Verdict & Done) | null;
  finalReport: (FinalReport & Done) | null;
  acceptances: (Verdict & Done & { round: number })[];
  rectifications: (Rectification & Done & { round: number })[];
  rectificationDue: string | null;
  ending: ({ kind: 'withdrawn' | 'integrity_failed' } & Done & { reason: string }) | null;
  /** What the pilot waits for next and until when (UTC ISO); null once it has ended. */
  waitingFor: { what: WaitingFor; until: string | null } | null;
  /** When the state last changed (workflow time, UTC ISO). */
  updatedAt: string;
  /** Increases with every recorded step, so the database never goes back to an older state. */
  version: number;
}

/** The form's themes: kept beside its hash since patch 'slim-history', inside the form before. */
export function submittedThemes(state: Pick<PilotState, 'submission'>): string[] {
  const submission = state.submission;
  if (!submission) return [];
  return 'formHash' in submission ? submission.themes : submission.form.themes;
}

/**
 * The end of the entry period. Call snapshots from before it existed carry no `entryPeriod`: their
 * pilots keep the deadline as the end of entry.
 */
export function entryUntilOf(call: Call): string | null {
  const period = (call.timing as Partial<Call['timing']>).entryPeriod;
  return period ? new Date(Date.parse(call.submissionDeadline) + toMs(period)).toISOString() : null;
}

/** The review round an expert score counts in: one round per objection. */
export function scoresOfCurrentRound(state: Pick<PilotState, 'expertScores' | 'objections'>) {
  const round = state.objections.length;
  // Scores recorded before rounds were kept count in every round, as they did then.
  return state.expertScores.filter((s) => s.round === undefined || s.round === round);
}

/** The state a pilot starts in, at registration (`at`: workflow time, UTC ISO). */
export function initialPilotState(start: PilotStart, at: string): PilotState {
  const { registration, call } = start;
  return {
    pilotId: start.pilotId,
    callId: call.id,
    callName: call.name,
    phase: 'registered',
    pilotUnit: registration.pilotUnit,
    applicantUnit: registration.applicantUnit,
    province: registration.province,
    provincial: registration.provincial,
    registeredAt: at,
    registeredBy: start.registeredBy,
    submissionDeadline: call.submissionDeadline,
    entryUntil: entryUntilOf(call),
    fundingRangeFen: { min: call.funding.minFen, max: call.funding.maxFen },
    submission: null,
    expertScores: [],
    review: null,
    objections: [],
    publicNotice: null,
    approvedAmountFen: null,
    tranches: null,
    startedWorkAt: null,
    due: { midtermReport: null, finalReport: null, acceptance: null },
    extensions: [],
    midtermReport: null,
    midtermEvaluation: null,
    finalReport: null,
    acceptances: [],
    rectifications: [],
    rectificationDue: null,
    ending: null,
    waitingFor: { what: 'submission', until: call.submissionDeadline },
    updatedAt: at,
    version: 0,
  };
}
