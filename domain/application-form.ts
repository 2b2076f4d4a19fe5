/**
 * The application form (申报书, 附件2 of the notice), complete. Every box is required; "/" is the
 * explicit "nothing here" (如无内容请填"/"). Shared by the API (422 with field paths) and the
 * workflow's validator, so a form that reaches history has passed the same rules.
 */
import { z } from 'zod';
import { YearMonth, type Call } from './call';
import { CALENDAR_DATE } from './time';
import { PILOT_THEMES } from './submission';

export { expectedPdfName } from './submission';

/** Free text of a box; "/" when there is nothing to say. */
const Box = (max = 5000) => z.string().trim().min(1, 'required (use "/" when there is nothing)').max(max);

const Mobile = z.string().regex(/^1[3-9]\d{9}$/, 'an 11-digit mainland mobile number');
/** Landline with optional area code and extension: 010-12345678, 0571-8888888-12. */
const Phone = z.string().regex(/^(0\d{2,3}-?)?\d{7,8}(-\d{1,6})?$/, 'a phone number such as 010-12345678');
const Nothing = z.literal('/');

/** 负责人 contact block (applicant unit's head, pilot unit's head). */
export const ContactBlock = z.object({
  name: z.string().trim().min(1).max(50),
  mobile: Mobile,
  email: z.email().max(200),
  address: z.string().trim().min(4).max(200),
  postcode: z.string().regex(/^\d{6}$/, 'a 6-digit postcode'),
  fax: z.union([Phone, Nothing]),
  officePhone: Phone,
});

/** 意见: opinion with signature, seal and date. */
export const Opinion = z.object({
  text: Box(2000),
  signer: z.string().trim().min(1).max(50),
  sealed: z.literal(true, 'the opinion must be sealed (盖章)'),
  date: z.string().regex(CALENDAR_DATE, 'YYYY-MM-DD'),
});

export const PilotTheme = z.enum(PILOT_THEMES);

const Person = z.object({
  name: z.string().trim().min(1).max(50),
  sex: z.enum(['男', '女']),
  birth: YearMonth,
  unit: z.string().trim().min(1).max(100),
  title: Box(100),
});

export const ApplicationForm = z
  .object({
    basic: z.object({
      pilotUnit: z.string().trim().min(2).max(100),
      applicantUnit: z.string().trim().min(2).max(100),
      /** A provincial association carrying out the pilot itself: no separate pilot-unit opinion. */
      provincial: z.boolean(),
      period: z.object({ start: YearMonth, end: YearMonth }),
      applicantHead: ContactBlock,
      pilotHead: ContactBlock,
      applicantOpinion: Opinion,
      pilotUnitOpinion: Opinion.optional(),
      recommendationReasons: Box(),
      unitProfile: Box(),
      progress: Box(),
      highlights: Box(),
    }),
    content: z.object({ purpose: Box(), significance: Box(), content: Box(), foundation: Box() }),
    plan: z.object({ workPlan: Box(), expectedOutcomes: Box(), publicityPlan: Box() }),
    lead: Person,
    team: z.array(Person).min(1).max(50),
    themes: z.array(PilotTheme).min(1).max(5),
  })
  .superRefine((form, ctx) => {
    const { basic } = form;
    if (basic.period.start > basic.period.end) {
      ctx.addIssue({
        code: 'custom',
        path: ['basic', 'period', 'end'],
        message: 'the period must not end before it starts',
      });
    }
    if (basic.provincial) {
      if (basic.pilotUnitOpinion) {
        ctx.addIssue({
          code: 'custom',
          path: ['basic', 'pilotUnitOpinion'],
          message: 'a provincial pilot has no separate pilot-unit opinion',
        });
      }
    } else {
      if (!basic.pilotUnitOpinion) {
        ctx.addIssue({
          code: 'custom',
          path: ['basic', 'pilotUnitOpinion'],
          message: "the pilot unit's opinion is required",
        });
      }
      if (basic.pilotUnit.normalize('NFC') === basic.applicantUnit.normalize('NFC')) {
        ctx.addIssue({
          code: 'custom',
          path: ['basic', 'pilotUnit'],
          message: 'the pilot unit must differ from the applicant unit unless the pilot is provincial',
        });
      }
    }
    if (new Set(form.themes).size !== form.themes.length) {
      ctx.addIssue({ code: 'custom', path: ['themes'], message: 'each theme once' });
    }
  });
export type ApplicationForm = z.infer<typeof ApplicationForm>;

export interface FormIssue {
  path: string;
  code: string;
  message: string;
}

/** Rules that need the call and the registration: the period inside the call's, the right units. */
export function formIssuesAgainst(
  form: ApplicationForm,
  call: Pick<Call, 'period'>,
  registered: { pilotUnitName: string; applicantUnitName: string; provincial: boolean },
): FormIssue[] {
  const issues: FormIssue[] = [];
  const { period } = form.basic;
  if (period.start < call.period.start || period.start > call.period.end) {
    issues.push({
      path: 'basic.period.start',
      code: 'out_of_call_period',
      message: `within ${call.period.start}–${call.period.end}`,
    });
  }
  if (period.end > call.period.end || period.end < call.period.start) {
    issues.push({
      path: 'basic.period.end',
      code: 'out_of_call_period',
      message: `within ${call.period.start}–${call.period.end}`,
    });
  }
  if (form.basic.pilotUnit.normalize('NFC') !== registered.pilotUnitName.normalize('NFC')) {
    issues.push({
      path: 'basic.pilotUnit',
      code: 'not_registered_unit',
      message: `the registered pilot unit is ${registered.pilotUnitName}`,
    });
  }
  if (form.basic.applicantUnit.normalize('NFC') !== registered.applicantUnitName.normalize('NFC')) {
    issues.push({
      path: 'basic.applicantUnit',
      code: 'not_registered_unit',
      message: `the registered applicant unit is ${registered.applicantUnitName}`,
    });
  }
  if (form.basic.provincial !== registered.provincial) {
    issues.push({ path: 'basic.provincial', code: 'not_registered_unit', message: 'differs from the registration' });
  }
  return issues;
}

/** The sealed PDF as it travels through history: never its bytes. */
export const SealedPdf = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  fileName: z.string().min(5).max(200),
  sizeBytes: z.number().int().positive(),
});
export type SealedPdf = z.infer<typeof SealedPdf>;
