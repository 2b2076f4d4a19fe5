/**
 * Dates for people: a deadline day ends at 24:00 Beijing time and reads so, never as 00:00 of the
 * next day; the public notice's period reads in words. Pure functions, no server involved.
 */
import { durationInWords } from '../domain/duration';
import {
  beijingDate,
  beijingEndDate,
  beijingTimestamp,
  beijingWallClock,
  endOfBeijingDay,
  formatBeijing,
} from '../domain/time';

test('a deadline "2026-11-29" reads as 2026-11-29 24:00 Beijing time', () => {
  const deadline = endOfBeijingDay('2026-11-29');
  expect(deadline.toISOString()).toBe('2026-11-29T16:00:00.000Z');
  expect(formatBeijing(deadline)).toBe('2026-11-29 24:00（北京时间）');
  expect(formatBeijing(deadline.toISOString())).toBe('2026-11-29 24:00（北京时间）');
  expect(beijingEndDate(deadline)).toBe('2026-11-29');
  // As a start (or a sortable column) the same instant is the next day's beginning.
  expect(beijingDate(deadline)).toBe('2026-11-30');
  expect(beijingTimestamp(deadline)).toBe('2026-11-30 00:00:00');
});

test('other instants read as hours and minutes, with seconds only when there are some', () => {
  expect(formatBeijing('2026-11-29T01:30:00.000Z')).toBe('2026-11-29 09:30（北京时间）');
  expect(formatBeijing(new Date('2026-11-29T01:30:15.000Z'))).toBe('2026-11-29 09:30:15（北京时间）');
  // One millisecond past midnight is the new day, not the old day's end.
  expect(beijingWallClock('2026-11-29T16:00:00.001Z')).toBe('2026-11-30 00:00');
  expect(beijingWallClock('2026-11-29T15:59:59.000Z')).toBe('2026-11-29 23:59:59');
  // The turn of a year and a leap day.
  expect(formatBeijing(endOfBeijingDay('2026-12-31'))).toBe('2026-12-31 24:00（北京时间）');
  expect(formatBeijing(endOfBeijingDay('2028-02-29'))).toBe('2028-02-29 24:00（北京时间）');
  expect(beijingTimestamp('2020-06-10T08:00:05.000Z')).toBe('2020-06-10 16:00:05');
});

test('durations read in words, in Chinese and English', () => {
  expect(durationInWords('7d')).toBe('7 天');
  expect(durationInWords('36h')).toBe('36 小时');
  expect(durationInWords('90s')).toBe('90 秒');
  expect(durationInWords('500ms')).toBe('500 毫秒');
  expect(durationInWords('15m')).toBe('15 分钟');
  expect(durationInWords('7d', 'en')).toBe('7 days');
  expect(durationInWords('1d', 'en')).toBe('1 day');
  expect(durationInWords('500ms', 'en')).toBe('500 ms');
});
