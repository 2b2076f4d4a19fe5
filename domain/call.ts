import { z } from 'zod';
import { DURATION_PATTERN, toMs, UNIT_MS, type DurationText } from './duration';
import { CALENDAR_DATE, endOfBeijingDay } from './time';

/** A duration of the call's timing rules, written like "7d", "36h", "90s" or "500ms". */
export const Duration = z
  .string()
  .regex(DURATION_PATTERN, 'a duration such as "7d", "36h", "90s" or "500ms"')
  .refine((text) => toMs(text as DurationText) > 0, 'longer than zero')
  .refine((text) => toMs(text as DurationText) <= 5 * 365 * UNIT_MS.d, 'at most five years')
  .transform((text) => text as DurationText);

/** Readable ids that appear in workflow ids: lowercase letters, digits and single hyphens. */
export const Slug = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'lowercase letters, digits and single hyphens');

export const YearMonth = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'YYYY-MM');

/** Money is integer fen (分); 1 CNY = 100 fen. */
export const Fen = z.number().int().nonnegative().max(2_000_000_000);

/**
 * A deadline as staff write it: a Beijing calendar date ("2020-06-10", ending at 24:00 Beijing
 * time) or an exact instant with an offset (compressed timelines in tests). Stored as UTC ISO.
 */
export const Deadline = z.union([
  z
    .string()
    .regex(CALENDAR_DATE, 'YYYY-MM-DD')
    .transform((date, ctx) => {
      try {
        return endOfBeijingDay(date).toISOString();
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not a calendar date' });
        return z.NEVER;
      }
    }),
  z.iso.datetime({ offset: true }).transform((instant) => new Date(instant).toISOString()),
]);

const Email = z.email().max(200);

/**
 * Durations the notice leaves to the office, each with the default a programme office would expect.
 * Every one can be compressed to seconds (tests run whole lifecycles in under a minute).
 */
export const CallTiming = z.object({
  /**
   * After the deadline, applications received by it (by their arrival time) may still be keyed in
   * for this long; the pilot does not expire meanwhile, and the e-mail intake keeps reading the
   * mailbox until then (later arrivals are recorded, as late).
   */
  entryPeriod: Duration.default('14d'),
  /** 公示期: an objection within it sends the decision back to review. */
  publicNoticePeriod: Duration.default('7d'),
  /** How long staff may leave a submitted application without a panel decision before reminders. */
  reviewWithin: Duration.default('30d'),
  /** Due dates counted from the start of the pilot's work (the first tranche instruction). */
  midtermReportDueAfter: Duration.default('183d'),
  finalReportDueAfter: Duration.default('365d'),
  midtermEvaluationWithin: Duration.default('30d'),
  acceptanceWithin: Duration.default('60d'),
  /** Reminders before each due date (submission deadline, reports). */
  reminderBefore: z.array(Duration).max(5).default(['7d', '1d']),
  /** Re-reminders once something is overdue (reports, decisions, finance confirmations). */
  overdueReminderEvery: Duration.default('7d'),
  /** Finance confirms an instruction's execution within this, else it is reminded. */
  financeConfirmationWithin: Duration.default('10d'),
  /** Rounds of rectification (整改) after a failed acceptance; 0 is the notice's literal rule. */
  rectificationRounds: z.number().int().min(0).max(3).default(0),
  rectificationPeriod: Duration.default('90d'),
});
export type CallTiming = z.output<typeof CallTiming>;

export const CallInput = z
  .object({
    // `intake.<call id>` is the call's intake workflow; a call named "intake" would make
    // `intake.<unit>`, a pilot's workflow id, collide with another call's intake.
    id: Slug.refine((id) => id !== 'intake', '"intake" is reserved (the e-mail intake\'s workflow ids start with it)'),
    name: z.string().trim().min(1).max(200),
    submissionDeadline: Deadline,
    funding: z.object({ minFen: Fen, maxFen: Fen }),
    /** Share of the approved amount paid as the first tranche, in basis points (5000 = 50%). */
    firstTrancheBasisPoints: z.number().int().min(1).max(10_000).default(5000),
    period: z.object({ start: YearMonth, end: YearMonth }),
    review: z.object({ minExpertScores: z.number().int().min(1).max(20).default(3) }).prefault({}),
    /** The programme office (中国科协改革工作办公室) and finance, who receive notices. */
    office: z.object({
      name: z.string().trim().min(1).max(100),
      email: Email,
      contactName: z.string().trim().min(1).max(50).optional(),
      phone: z.string().trim().min(3).max(30).optional(),
    }),
    financeEmail: Email,
    timing: CallTiming.prefault({}),
    /**
     * 弄虚作假: a unit with an integrity record is refused at registration in every call; a call may
     * admit it again once this many whole years have passed since the record (null: never).
     */
    integrity: z.object({ readmitAfterYears: z.number().int().min(1).max(50).nullable().default(null) }).prefault({}),
    /**
     * Applications e-mailed to the office's mailbox (IMAP, configured per deployment): the folder
     * to read and how often. Without it applications are only uploaded through the API.
     */
    intake: z
      .object({
        folder: z.string().trim().min(1).max(200).default('INBOX'),
        /** At least a second: a poll is a login, a search and a fetch on the office's mail server. */
        pollEvery: Duration.refine((text) => toMs(text) >= 1000, 'at least "1s"').default('1m'),
        /**
         * When the call opened for applications: mail that arrived (INTERNALDATE) before it is not
         * this call's, e.g. last year's applications in the same folder, and is neither recorded
         * nor stored. An instant with an offset, stored as UTC ISO. Absent: the call's creation
         * (its row's `created_at`), which the intake reads from the database.
         */
        since: z.iso
          .datetime({ offset: true })
          .transform((instant) => new Date(instant).toISOString())
          .optional(),
      })
      .optional(),
  })
  .refine((c) => c.funding.minFen <= c.funding.maxFen, {
    path: ['funding', 'maxFen'],
    message: 'maxFen must not be below minFen',
  })
  .refine((c) => c.period.start <= c.period.end, {
    path: ['period', 'end'],
    message: 'the period must not end before it starts',
  });

/** A validated call; workflows take a snapshot of it at start (visible in their history). */
export type Call = z.output<typeof CallInput>;

/** The seeded default: the notice of 2020-05-21 calling for the second batch of 2020. */
export const SECOND_BATCH_2020: z.input<typeof CallInput> = {
  id: '2020-batch2',
  name: '2020年第二批地方科协深化改革工作试点 (2020 second batch of local association reform pilots)',
  submissionDeadline: '2020-06-10',
  funding: { minFen: 300_000_00, maxFen: 400_000_00 },
  firstTrancheBasisPoints: 5000,
  period: { start: '2020-07', end: '2021-07' },
  // The contact the notice names (三、联系方式); the mailbox is the deployment's own.
  office: {
    name: '中国科协改革工作办公室',
    email: 'reform-office@example.org',
    contactName: '梁帅',
    phone: '010-68572088',
  },
  financeEmail: 'finance@example.org',
};
