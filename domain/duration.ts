/**
 * Durations of the call's timing rules, written like "7d", "36h", "90s" or "500ms". Real calls use
 * days; tests compress the same rules to seconds.
 */
export const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)$/;

export type DurationText = `${number}${keyof typeof UNIT_MS}`;

export function toMs(duration: DurationText): number {
  const match = DURATION_PATTERN.exec(duration);
  if (!match) throw new RangeError(`not a duration: ${duration}`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
