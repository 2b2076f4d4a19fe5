import { z } from 'zod';
import { ApplicationFormV1, PilotTheme, SealedPdf } from './application-form';
import { Deadline, Fen, Slug } from './call';
import { EXTENDABLE, ROLES, TRANCHES } from './pilot-state';
import { findProvince } from './provinces';

export * from './pilot-state';

export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/** Who did something; recorded with every decision in history and in the audit table. */
export const Actor = z.object({ id: z.string().min(1).max(100), role: Role });
export type Actor = z.infer<typeof Actor>;

const UnitName = z.string().trim().min(2).max(100);

/**
 * A province (省级行政区) given by GB/T 2260 code, official name or short name ("330000", "浙江省",
 * "浙江"); the code is what is kept, so recusal and the applicant check compare codes.
 */
export const ProvinceCode = z
  .string()
  .trim()
  .min(2)
  .max(20)
  .transform((text, ctx) => {
    const province = findProvince(text);
    if (!province) {
      ctx.addIssue({
        code: 'custom',
        message: 'a provincial-level division: GB/T 2260 code (330000), name (浙江省) or short name (浙江)',
      });
      return z.NEVER;
    }
    return province.code;
  });
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
  /**
   * 申报单位, the provincial association that applies on the pilot unit's behalf; its province, when
   * given, must be the pilot's.
   */
  applicantUnit: z.object({ name: UnitName, province: ProvinceCode.optional() }),
  /** The pilot unit's province, kept as its GB/T 2260 code. */
  province: ProvinceCode,
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

/**
 * The complete application form with the sealed PDF's fingerprint (the bytes stay in storage), as
 * submissions before patch 'slim-history' carried it: those histories hold version-1 forms.
 */
export const Submission = z.object({ form: ApplicationFormV1, pdf: SealedPdf });
export type Submission = z.infer<typeof Submission>;

/**
 * The submission as the workflow receives it (patch 'slim-history'): the API has checked the form
 * and stored it under its hash.
 */
export const SubmittedApplication = z.object({
  formHash: z.string().regex(/^[0-9a-f]{64}$/),
  themes: z.array(PilotTheme).min(1).max(5),
  pdf: SealedPdf,
  receivedAt: z.iso
    .datetime({ offset: true })
    .transform((instant) => new Date(instant).toISOString())
    .optional(),
  receipt: z
    .discriminatedUnion('via', [
      z.object({ via: z.literal('email'), receivedId: z.string().trim().min(1).max(200) }),
      z.object({ via: z.literal('other') }),
    ])
    .optional(),
});

/** One expert's score; an expert from the applicant's own province is refused (回避). */
export const ExpertScore = z.object({
  expert: z.object({ id: z.string().trim().min(1).max(100), province: ProvinceCode }),
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
