import { z } from 'zod';
import { Fen, Slug, type Call } from './call';

export const Role = z.enum(['staff', 'reviewer', 'finance', 'auditor', 'admin']);
export type Role = z.infer<typeof Role>;

/** Who did something; recorded with every decision in history and in the audit table. */
export const Actor = z.object({ id: z.string().min(1).max(100), role: Role });
export type Actor = z.infer<typeof Actor>;

const UnitName = z.string().trim().min(2).max(100);

export const PilotRegistration = z.object({
  callId: Slug,
  /** 试点单位, the unit that carries out the pilot; its code names the workflow. */
  pilotUnit: z.object({ code: Slug, name: UnitName }),
  /** 申报单位, the provincial association that applies on the pilot unit's behalf. */
  applicantUnit: z.object({ name: UnitName }),
  province: z.string().trim().min(2).max(20),
  /** A provincial pilot is carried out by the applicant unit itself. */
  provincial: z.boolean().default(false),
});
export type PilotRegistration = z.output<typeof PilotRegistration>;

/** Pilot ids are the workflow ids: readable business keys naming call and pilot unit. */
export function pilotIdOf(callId: string, pilotUnitCode: string): string {
  return `${callId}.${pilotUnitCode}`;
}

export const Submission = z.object({
  /** Where the sealed application came from, e.g. the e-mail's subject or message id. */
  reference: z.string().trim().min(1).max(200),
});
export type Submission = z.infer<typeof Submission>;

const Reason = z.string().trim().min(1).max(2000);

export const ReviewDecision = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('approved'), amountFen: Fen, reason: Reason }),
  z.object({ outcome: z.literal('rejected'), reason: Reason }),
]);
export type ReviewDecision = z.infer<typeof ReviewDecision>;

/** Every staff action reaches the workflow with its actor. */
export function acting<T extends z.ZodType>(action: T) {
  return z.intersection(action, z.object({ actor: Actor }));
}
export type Acting<T> = T & { actor: Actor };

export const PILOT_PHASES = ['registered', 'submitted', 'approved', 'rejected', 'expired'] as const;
export type PilotPhase = (typeof PILOT_PHASES)[number];

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
  submission: (Submission & { at: string; by: Actor }) | null;
  review: (ReviewDecision & { at: string; by: Actor }) | null;
  /** What the pilot waits for next and until when (UTC ISO); null once it has ended. */
  waitingFor: { what: 'submission' | 'review-decision'; until: string | null } | null;
  /** When the state last changed (workflow time, UTC ISO). */
  updatedAt: string;
  /** Increases with every recorded step, so the database never goes back to an older state. */
  version: number;
}
