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

const UNIT_WORDS: Record<keyof typeof UNIT_MS, { zh: string; en: string }> = {
  ms: { zh: '毫秒', en: 'ms' },
  s: { zh: '秒', en: 'second' },
  m: { zh: '分钟', en: 'minute' },
  h: { zh: '小时', en: 'hour' },
  d: { zh: '天', en: 'day' },
};

/** A duration as a notice writes it: "7 天" for "7d", "36 小时", "90 秒", "500 毫秒"; or "7 days". */
export function durationInWords(duration: DurationText, language: 'zh' | 'en' = 'zh'): string {
  const match = DURATION_PATTERN.exec(duration);
  if (!match) throw new RangeError(`not a duration: ${duration}`);
  const count = Number(match[1]);
  const unit = UNIT_WORDS[match[2] as keyof typeof UNIT_MS];
  if (language === 'zh') return `${count} ${unit.zh}`;
  return `${count} ${unit.en}${count === 1 || unit.en === 'ms' ? '' : 's'}`;
}
