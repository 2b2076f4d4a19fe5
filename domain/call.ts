import { z } from 'zod';
import { CALENDAR_DATE, endOfBeijingDay } from './time';

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

export const CallInput = z
  .object({
    id: Slug,
    name: z.string().trim().min(1).max(200),
    submissionDeadline: Deadline,
    funding: z.object({ minFen: Fen, maxFen: Fen }),
    period: z.object({ start: YearMonth, end: YearMonth }),
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
  period: { start: '2020-07', end: '2021-07' },
};
