import { z } from 'zod';
import { ApplicationForm, SealedPdf } from './application-form';
import { Deadline, Fen, Slug, type Call } from './call';

export const Role = z.enum(['staff', 'reviewer', 'finance', 'auditor', 'admin']);
export type Role = z.infer<typeof Role>;

/** Who did something; recorded with every decision in history and in the audit table. */
export const Actor = z.object({ id: z.string().min(1).max(100), role: Role });
export type Actor = z.infer<typeof Actor>;

const UnitName = z.string().trim().min(2).max(100);
const Reason = z.string().trim().min(1).max(2000);
const Reference = z.string().trim().min(1).max(300);

/** A person notices go to (the heads of the applicant and pilot units). Personal data. */
export const Contact = z.object({
  name: z.string().trim().min(1).max(50),
  email: z.email().max(200),
});
export type Contact = z.infer<typeof Contact>;

export const PilotRegistration = z.object({
  callId: Slug,
  /** 试点单位, the unit that carries out the pilot; its code names the workflow. */
  pilotUnit: z.object({ code: Slug, name: UnitName }),
  /** 申报单位, the provincial association that applies on the pilot unit's behalf. */
  applicantUnit: z.object({ name: UnitName }),
  province: z.string().trim().min(2).max(20),
  /** A provincial pilot is carried out by the applicant unit itself. */
  provincial: z.boolean().default(false),
  contacts: z.array(Contact).min(1).max(5),
});
export type PilotRegistration = z.output<typeof PilotRegistration>;

/** Pilot ids are the workflow ids: readable business keys naming call and pilot unit. */
export function pilotIdOf(callId: string, pilotUnitCode: string): string {
  return `${callId}.${pilotUnitCode}`;
}

// ---- Staff actions, one schema each --------------------------------------------------------

/** The complete application form with the sealed PDF's fingerprint (the bytes stay in storage). */
export const Submission = z.object({ form: ApplicationForm, pdf: SealedPdf });
export type Submission = z.infer<typeof Submission>;

/** One expert's score; an expert from the applicant's own province is refused (回避). */
export const ExpertScore = z.object({
  expert: z.object({ id: z.string().trim().min(1).max(100), province: z.string().trim().min(2).max(20) }),
  score: z.number().min(0).max(100),
  comment: z.string().trim().min(1).max(2000),
});
export type ExpertScore = z.infer<typeof ExpertScore>;

export const ReviewDecision = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('approved'), amountFen: Fen, reason: Reason }),
  z.object({ outcome: z.literal('rejected'), reason: Reason }),
]);
export type ReviewDecision = z.infer<typeof ReviewDecision>;

/** An objection raised during the public notice (公示) sends the decision back to review. */
export const Objection = z.object({ reason: Reason });
export type Objection = z.infer<typeof Objection>;

export const TRANCHES = ['first', 'tail'] as const;
export const Tranche = z.enum(TRANCHES);
export type Tranche = z.infer<typeof Tranche>;

/** Finance confirms that a payment instruction was executed, with the bank's or ledger's reference. */
export const TrancheConfirmation = z.object({ tranche: Tranche, reference: Reference });
export type TrancheConfirmation = z.infer<typeof TrancheConfirmation>;

/** Finance voids an instruction that was not executed (作废), with the reason. */
export const TrancheVoid = z.object({ tranche: Tranche, reason: Reason });
export type TrancheVoid = z.infer<typeof TrancheVoid>;

/** Finance closes the reclaim (追回) of a paid tranche, with the reference of the repayment. */
export const ReclaimClosure = z.object({ tranche: Tranche, reference: Reference });
export type ReclaimClosure = z.infer<typeof ReclaimClosure>;

export const MidtermReport = z.object({ reference: Reference });
export type MidtermReport = z.infer<typeof MidtermReport>;

export const Verdict = z.object({ outcome: z.enum(['passed', 'failed']), reason: Reason });
export type Verdict = z.infer<typeof Verdict>;

/** The final report: the pilot report, with its typical cases and institutional innovations. */
export const FinalReport = z.object({
  reportReference: Reference,
  typicalCases: z.array(z.string().trim().min(1).max(300)).min(1).max(20),
  institutionalInnovations: z.array(z.string().trim().min(1).max(300)).min(1).max(20),
});
export type FinalReport = z.infer<typeof FinalReport>;

export const Rectification = z.object({ reference: Reference });
export type Rectification = z.infer<typeof Rectification>;

export const EXTENDABLE = ['midterm-report', 'final-report', 'acceptance'] as const;
export const Extension = z.object({ which: z.enum(EXTENDABLE), until: Deadline, reason: Reason });
export type Extension = z.output<typeof Extension>;

export const Withdrawal = z.object({ reason: Reason });
export type Withdrawal = z.infer<typeof Withdrawal>;

/** 弄虚作假: false material found in the application. */
export const IntegrityFlag = z.object({ reason: Reason });
export type IntegrityFlag = z.infer<typeof IntegrityFlag>;

/** Every staff action reaches the workflow with its actor. */
export function acting<T extends z.ZodType>(action: T) {
  return z.intersection(action, z.object({ actor: Actor, requestedAt: z.iso.datetime().optional() }));
}
export type Acting<T> = T & { actor: Actor; requestedAt?: string };

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
  applicantUnit: { name: string };
  province: string;
  provincial: boolean;
  registeredAt: string;
  registeredBy: Actor;
  submissionDeadline: string;
  fundingRangeFen: { min: number; max: number };
  submission: (Submission & Done) | null;
  expertScores: (ExpertScore & Done)[];
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
