/**
 * The application form (申报书, 附件2 of the notice), complete. Every box is required; "/" is the
 * explicit "nothing here" (如无内容请填"/"). The API checks it (422 with field paths) and stores it
 * under its hash before the pilot's workflow hears of it.
 *
 * Two versions: forms stored in application_form and recorded in older histories (before patch
 * 'slim-history' a submission carried its whole form) are version 1 and must stay readable as they
 * were written; the API takes version 2, the form as printed. `formVersionOf` tells them apart.
 */
import { z } from 'zod';
import { YearMonth, type Call } from './call';
import { parsePhone, normalisePhoneText, type PhoneKind } from './phone';
import { CALENDAR_DATE, beijingDateOf, isCalendarDate } from './time';
import { PILOT_THEMES } from './submission';

export { expectedPdfName, pdfNameMatches, unitOfPdfName } from './submission';

// ---- Version 1, unchanged: for reading forms stored and recorded before version 2 -------------

export const PilotTheme = z.enum(PILOT_THEMES);

/** Free text of a box; "/" when there is nothing to say. */
const BoxV1 = (max = 5000) => z.string().trim().min(1, 'required (use "/" when there is nothing)').max(max);

const MobileV1 = z.string().regex(/^1[3-9]\d{9}$/, 'an 11-digit mainland mobile number');
/** Landline with optional area code and extension: 010-12345678, 0571-8888888-12. */
const PhoneV1 = z.string().regex(/^(0\d{2,3}-?)?\d{7,8}(-\d{1,6})?$/, 'a phone number such as 010-12345678');
const NothingV1 = z.literal('/');

/** 负责人 contact block (applicant unit's head, pilot unit's head). */
const ContactBlockV1 = z.object({
  name: z.string().trim().min(1).max(50),
  mobile: MobileV1,
  email: z.email().max(200),
  address: z.string().trim().min(4).max(200),
  postcode: z.string().regex(/^\d{6}$/, 'a 6-digit postcode'),
  fax: z.union([PhoneV1, NothingV1]),
  officePhone: PhoneV1,
});

/** 意见: opinion with signature, seal and date. */
const OpinionV1 = z.object({
  text: BoxV1(2000),
  signer: z.string().trim().min(1).max(50),
  sealed: z.literal(true, 'the opinion must be sealed (盖章)'),
  date: z.string().regex(CALENDAR_DATE, 'YYYY-MM-DD'),
});

const PersonV1 = z.object({
  name: z.string().trim().min(1).max(50),
  sex: z.enum(['男', '女']),
  birth: YearMonth,
  unit: z.string().trim().min(1).max(100),
  title: BoxV1(100),
});

/** Version 1 of the form, as it was accepted until version 2: never change its rules. */
export const ApplicationFormV1 = z
  .object({
    basic: z.object({
      pilotUnit: z.string().trim().min(2).max(100),
      applicantUnit: z.string().trim().min(2).max(100),
      /** A provincial association carrying out the pilot itself: no separate pilot-unit opinion. */
      provincial: z.boolean(),
      period: z.object({ start: YearMonth, end: YearMonth }),
      applicantHead: ContactBlockV1,
      pilotHead: ContactBlockV1,
      applicantOpinion: OpinionV1,
      pilotUnitOpinion: OpinionV1.optional(),
      recommendationReasons: BoxV1(),
      unitProfile: BoxV1(),
      progress: BoxV1(),
      highlights: BoxV1(),
    }),
    content: z.object({ purpose: BoxV1(), significance: BoxV1(), content: BoxV1(), foundation: BoxV1() }),
    plan: z.object({ workPlan: BoxV1(), expectedOutcomes: BoxV1(), publicityPlan: BoxV1() }),
    lead: PersonV1,
    team: z.array(PersonV1).min(1).max(50),
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
export type ApplicationFormV1 = z.infer<typeof ApplicationFormV1>;

// ---- Version 2: the printed form (附件2) box by box ------------------------------------------

/** The explicit "nothing here" (如无内容请填"/"); a Chinese input method types the full-width "／". */
const NOTHING = '/';
const asNothing = (text: string) => (text === '／' ? NOTHING : text);

/** Free text of a box; "/" (or "／", kept as "/") when there is nothing to say. */
const Box = (max = 5000) =>
  z
    .string()
    .trim()
    .overwrite(asNothing)
    .min(1, '必填，无内容请填"/" / required (use "/" when there is nothing)')
    .max(max);

/**
 * A box that always has content (a name, a unit, an address): "/" would leave the form without
 * who or where, so it is refused here rather than taken for "nothing".
 */
const Filled = (min: number, max: number) =>
  z
    .string()
    .trim()
    .overwrite(asNothing)
    .refine((text) => text !== NOTHING, {
      message: '此栏须填写实际内容，不能填"/" / this box needs real content, not "/"',
      abort: true,
    })
    .min(min, '必填 / required')
    .max(max);

/** "/" alone, full-width or not, for a box left empty as the form says. */
const Nothing = z.string().trim().overwrite(asNothing).pipe(z.literal(NOTHING));

const orNothing = (text: string) => text === NOTHING;

/**
 * A telephone box (domain/phone.ts reads it): kept as written, made half-width; "/" when there is
 * no such number. The kinds are those the box is for.
 */
const PhoneBox = (kinds: readonly PhoneKind[], message: string) =>
  z
    .string()
    .overwrite(normalisePhoneText)
    .min(1, { message: '必填，无内容请填"/" / required (use "/" when there is nothing)', abort: true })
    .refine((text) => {
      if (text === NOTHING) return true;
      const number = parsePhone(text);
      return number !== null && kinds.includes(number.kind);
    }, message);

const Mobile = PhoneBox(
  ['mobile'],
  '手机号码：11 位，可带 +86、空格或连字符，无则填"/" / a mainland mobile number such as 138 0013 8000 or +86 138 0013 8000, or "/"',
);
const Landline = PhoneBox(
  ['landline', 'service'],
  '电话号码：如 010-68572088、(010)68572088、0571-8888888-12、400-810-8888，无则填"/" / a phone number such as 010-68572088, (010)68572088, +86-10-68572088, 400-810-8888, or "/"',
);

/** A real day of the calendar, "YYYY-MM-DD" (2020-02-31 is refused). */
const CalendarDate = z
  .string()
  .regex(CALENDAR_DATE, { message: 'YYYY-MM-DD', abort: true })
  .refine(isCalendarDate, '日期不存在 / not a real calendar date');

/**
 * 负责人 contact block (applicant unit's head, pilot unit's head). Name, address and postcode are
 * how the office reaches the head, so they are always filled; mobile, e-mail, fax and office phone
 * may be "/", as long as the head has a telephone number of some kind.
 */
export const ContactBlock = z
  .object({
    name: Filled(1, 50),
    mobile: Mobile,
    email: z.union([z.email('电子邮箱，无则填"/" / an e-mail address, or "/"').max(200), Nothing]),
    address: Filled(4, 200),
    postcode: z
      .string()
      .overwrite((text) => text.normalize('NFKC').trim())
      .regex(/^\d{6}$/, '邮编为 6 位数字 / a 6-digit postcode'),
    fax: Landline,
    officePhone: Landline,
  })
  .superRefine((head, ctx) => {
    if (orNothing(head.mobile) && orNothing(head.officePhone)) {
      ctx.addIssue({
        code: 'custom',
        path: ['officePhone'],
        message: '手机和办公电话至少填写一个 / a mobile or an office phone, at least one',
      });
    }
  });

/**
 * 意见 of a unit, as the printed box asks it (包括是否同意推荐，申报书所填内容是否准确等): whether it
 * recommends the pilot and whether the form is accurate, each a choice, with its text, the head's
 * signature, the seal and the date. A "no" is a real answer on paper, but an application that says
 * it cannot be submitted, so it is refused with the unit named.
 */
const opinionOf = (unit: string, unitEn: string) =>
  z.object({
    recommend: z
      .boolean()
      .describe('是否同意推荐 / whether the unit recommends the pilot')
      .refine((yes) => yes, `${unit}不同意推荐，不能申报 / the ${unitEn} does not recommend the pilot`),
    accurate: z
      .boolean()
      .describe('申报书所填内容是否准确 / whether the form is accurate')
      .refine(
        (yes) => yes,
        `${unit}未确认申报书所填内容准确，不能申报 / the ${unitEn} does not confirm that the form is accurate`,
      ),
    text: Box(2000),
    signer: Filled(1, 50).describe('负责人（签章） / signed by the unit’s head'),
    sealed: z.literal(true, `${unit}意见须加盖单位公章 / the opinion must be sealed (盖章)`),
    date: CalendarDate.describe('年 月 日，不晚于收到申报书之日 / the day signed, not after the day received'),
  });

export const ApplicantOpinion = opinionOf('申报单位', 'applicant unit').describe(
  '申报单位意见（包括是否同意推荐，申报书所填内容是否准确等） / the applicant unit’s opinion',
);
export const PilotUnitOpinion = opinionOf('试点单位', 'pilot unit').describe(
  '试点单位意见（包括是否同意推荐，申报书所填内容是否准确等，省级试点不填写此栏） / the pilot unit’s opinion; a provincial pilot gives "/" or leaves it out',
);
export type Opinion = z.infer<typeof ApplicantOpinion>;

const Person = z.object({
  name: Filled(1, 50),
  sex: z.enum(['男', '女']),
  birth: YearMonth.describe('出生年月，不晚于申报之月 / birth year-month, not after the month of submission'),
  unit: Filled(1, 100),
  title: Box(100).describe('职务职称 / position and title'),
});

/**
 * The application form (申报书) as printed, version 2: 试点内容 is one box, the opinions are
 * choices, the cover carries its year and month, telephone boxes take the usual written forms and
 * dates are real days. Input without `formVersion` is taken as version 2; the output always says 2,
 * so a stored form without it is a version-1 form (`formVersionOf`).
 */
export const ApplicationForm = z
  .object({
    formVersion: z.literal(2, '申报书版本为 2 / formVersion is 2').default(2),
    cover: z
      .object({
        date: YearMonth.describe('封面落款 年 月，不晚于申报之月 / the cover’s year and month, not after submission'),
      })
      .describe('封面 / the cover (试点单位 and 申报单位 are those of 基本情况)'),
    basic: z.object({
      pilotUnit: Filled(2, 100),
      applicantUnit: Filled(2, 100),
      /** A provincial association carrying out the pilot itself: no separate pilot-unit opinion. */
      provincial: z.boolean(),
      period: z.object({ start: YearMonth, end: YearMonth }).describe('试点起止日期 / the pilot’s period'),
      applicantHead: ContactBlock.describe('申报单位负责人 / head of the applicant unit'),
      pilotHead: ContactBlock.describe('试点单位负责人 / head of the pilot unit'),
      applicantOpinion: ApplicantOpinion,
      pilotUnitOpinion: z
        .union([PilotUnitOpinion, Nothing], '试点单位意见，省级试点填"/" / the pilot unit’s opinion, or "/"')
        .optional(),
      recommendationReasons: Box().describe('申报单位推荐理由 / why the applicant unit recommends the pilot'),
      unitProfile: Box().describe('试点单位概况 / profile of the pilot unit'),
      progress: Box().describe('试点单位改革工作目前进展情况 / progress of its reform so far'),
      highlights: Box().describe('试点单位改革工作亮点与主要成效 / highlights and main results so far'),
    }),
    content: Box(20000).describe(
      '二、试点内容（含目的、意义、内容，当前工作基础等。）一栏，可另加页 / the pilot content, one box: purpose, significance, content, current foundation',
    ),
    plan: z.object({
      workPlan: Box().describe('工作计划 / work plan'),
      expectedOutcomes: Box().describe('预期成果 / expected outcomes'),
      publicityPlan: Box().describe('试点成果宣传计划 / publicity plan'),
    }),
    lead: Person.describe('四、试点工作负责人 / the pilot lead'),
    team: z.array(Person).min(1).max(50).describe('五、主要参与团队 / main team'),
    themes: z.array(PilotTheme).min(1).max(5),
  })
  .superRefine((form, ctx) => {
    const { basic } = form;
    if (basic.period.start > basic.period.end) {
      ctx.addIssue({
        code: 'custom',
        path: ['basic', 'period', 'end'],
        message: '试点结束不能早于开始 / the period must not end before it starts',
      });
    }
    const ownOpinion = basic.pilotUnitOpinion !== undefined && basic.pilotUnitOpinion !== NOTHING;
    if (basic.provincial) {
      if (ownOpinion) {
        ctx.addIssue({
          code: 'custom',
          path: ['basic', 'pilotUnitOpinion'],
          message:
            '省级试点不填写试点单位意见，填"/"或不填 / a provincial pilot has no separate pilot-unit opinion ("/" or leave it out)',
        });
      }
    } else {
      if (!ownOpinion) {
        ctx.addIssue({
          code: 'custom',
          path: ['basic', 'pilotUnitOpinion'],
          message:
            '试点单位意见必填（仅省级试点填"/"） / the pilot unit’s opinion is required ("/" only for a provincial pilot)',
        });
      }
      if (basic.pilotUnit.normalize('NFC') === basic.applicantUnit.normalize('NFC')) {
        ctx.addIssue({
          code: 'custom',
          path: ['basic', 'pilotUnit'],
          message:
            '非省级试点的试点单位须不同于申报单位 / the pilot unit must differ from the applicant unit unless the pilot is provincial',
        });
      }
    }
    if (new Set(form.themes).size !== form.themes.length) {
      ctx.addIssue({ code: 'custom', path: ['themes'], message: '每个主题只选一次 / each theme once' });
    }
  });
export type ApplicationForm = z.output<typeof ApplicationForm>;
/** A form as a client writes it: `formVersion` may be left out. */
export type ApplicationFormInput = z.input<typeof ApplicationForm>;

/** A form as stored (table application_form) or recorded in an older history: either version. */
export type StoredApplicationForm = ApplicationFormV1 | ApplicationForm;

/**
 * Which version a stored or recorded form is, for readers: 2 when it says so (every version-2 form
 * is stored with `formVersion: 2`), 1 when it says nothing (forms stored before version 2), null
 * for anything else. Input to the API is another matter: there a form without it is version 2.
 */
export function formVersionOf(json: unknown): 1 | 2 | null {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return null;
  if (!('formVersion' in json)) return 1;
  return json.formVersion === 2 ? 2 : null;
}

/** Narrows a stored form to version 2. */
export function isFormV2(form: StoredApplicationForm): form is ApplicationForm {
  return formVersionOf(form) === 2;
}

export interface FormIssue {
  path: string;
  code: string;
  message: string;
}

/**
 * Rules that need the call, the registration and the submission's instant: the period inside the
 * call's, the right units, and no date after the application was received. `submittedAt` is when
 * the application arrived (the e-mail's arrival, or now): dates are compared as Beijing calendar
 * days, year-months as Beijing months.
 */
export function formIssuesAgainst(
  form: ApplicationForm,
  call: Pick<Call, 'period'>,
  registered: { pilotUnitName: string; applicantUnitName: string; provincial: boolean },
  submittedAt: Date,
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

  // Nothing on the form can be dated after the day it was received (Beijing calendar).
  const day = beijingDateOf(submittedAt);
  const month = day.slice(0, 7);
  const notAfter = (path: string, value: string, limit: string) => {
    if (value > limit) {
      issues.push({
        path,
        code: 'after_submission',
        message: `不能晚于收到申报书的${limit.length === 7 ? '月份' : '日期'} ${limit}（北京时间） / not after ${limit}, when the application was received (Beijing time)`,
      });
    }
  };
  notAfter('cover.date', form.cover.date, month);
  notAfter('basic.applicantOpinion.date', form.basic.applicantOpinion.date, day);
  const pilotUnitOpinion = form.basic.pilotUnitOpinion;
  if (pilotUnitOpinion !== undefined && pilotUnitOpinion !== NOTHING) {
    notAfter('basic.pilotUnitOpinion.date', pilotUnitOpinion.date, day);
  }
  notAfter('lead.birth', form.lead.birth, month);
  form.team.forEach((person, i) => notAfter(`team.${i}.birth`, person.birth, month));
  return issues;
}

/** The sealed PDF as it travels through history: never its bytes. */
export const SealedPdf = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  fileName: z.string().min(5).max(200),
  sizeBytes: z.number().int().positive(),
});
export type SealedPdf = z.infer<typeof SealedPdf>;
