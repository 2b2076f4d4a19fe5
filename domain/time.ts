/**
 * Dates of the domain are Asia/Shanghai calendar dates: a deadline "2020-06-10" ends at 24:00
 * Beijing time. China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact
 * and keeps these helpers free of Intl and time-zone data (they also run inside workflow code).
 */
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export const CALENDAR_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

/** The instant a Beijing calendar day ends, i.e. the next day's 00:00 in Beijing. */
export function endOfBeijingDay(date: string): Date {
  if (!CALENDAR_DATE.test(date)) throw new RangeError(`not a calendar date: ${date}`);
  const start = Date.parse(`${date}T00:00:00+08:00`);
  if (Number.isNaN(start) || new Date(start + BEIJING_OFFSET_MS).toISOString().slice(0, 10) !== date) {
    throw new RangeError(`not a calendar date: ${date}`);
  }
  return new Date(start + DAY_MS);
}

/** Whether "YYYY-MM-DD" names a day the calendar has (2020-02-29 does, 2020-02-31 does not). */
export function isCalendarDate(date: string): boolean {
  if (!CALENDAR_DATE.test(date)) return false;
  // Date.UTC rolls 02-31 over into March; a real day survives the round trip.
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d)).toISOString().slice(0, 10) === date;
}

/** The Beijing calendar date ("YYYY-MM-DD") on which an instant falls. */
export function beijingDateOf(instant: Date): string {
  return new Date(instant.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
}

/** "2020-06-10 24:00" style wall-clock text in Beijing time, for people (e-mails, pages). */
export function formatBeijing(instant: Date | string): string {
  const ms = typeof instant === 'string' ? Date.parse(instant) : instant.getTime();
  const wall = new Date(ms + BEIJING_OFFSET_MS).toISOString();
  return `${wall.slice(0, 10)} ${wall.slice(11, 19)} (北京时间 Beijing time)`;
}
