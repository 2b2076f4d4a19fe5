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

/** Milliseconds since the epoch of an instant given as a Date or as ISO text. */
function epochMs(instant: Date | string): number {
  return typeof instant === 'string' ? Date.parse(instant) : instant.getTime();
}

/**
 * Beijing wall-clock text without the zone, for people: "2020-06-10 24:00", "2020-06-10 09:30",
 * "2020-06-10 09:30:15" (seconds only when there are some: compressed test timelines have them,
 * real due dates do not). An instant exactly at 00:00 Beijing is the end of the previous day,
 * since that is how a deadline "2020-06-10" is stored: it reads "2020-06-10 24:00", never
 * "2020-06-11 00:00", which a reader would take for a day late.
 */
export function beijingWallClock(instant: Date | string): string {
  const local = epochMs(instant) + BEIJING_OFFSET_MS;
  if (((local % DAY_MS) + DAY_MS) % DAY_MS === 0) {
    return `${new Date(local - DAY_MS).toISOString().slice(0, 10)} 24:00`;
  }
  const wall = new Date(local).toISOString();
  const seconds = wall.slice(17, 19);
  return `${wall.slice(0, 10)} ${wall.slice(11, 16)}${seconds === '00' ? '' : `:${seconds}`}`;
}

/** "2020-06-10 24:00（北京时间）": wall-clock text in Beijing time for e-mails, pages and answers. */
export function formatBeijing(instant: Date | string): string {
  return `${beijingWallClock(instant)}（北京时间）`;
}

/**
 * The Beijing calendar date a period ends on: an end at 00:00 is the previous day's 24:00, so a
 * public notice ending at 00:00 on the 8th ends "on the 7th".
 */
export function beijingEndDate(instant: Date | string): string {
  return beijingWallClock(instant).slice(0, 10);
}

/** The Beijing calendar date an instant falls on (a period starting at 00:00 starts that day). */
export function beijingDate(instant: Date | string): string {
  return new Date(epochMs(instant) + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
}

/**
 * "2020-06-10 16:00:05": Beijing wall clock to the second, always in the same shape, for columns
 * that are sorted and compared (the audit export); 00:00 stays 00:00 of its own day there.
 */
export function beijingTimestamp(instant: Date | string): string {
  const wall = new Date(epochMs(instant) + BEIJING_OFFSET_MS).toISOString();
  return `${wall.slice(0, 10)} ${wall.slice(11, 19)}`;
}

/**
 * "2020-06-11 00:00:00（北京时间）": when something happened (an e-mail's arrival), to the second
 * and never as 24:00 — an arrival at 00:00 is the first instant of its day, so it must not read as
 * the deadline it missed.
 */
export function formatBeijingInstant(instant: Date | string): string {
  return `${beijingTimestamp(instant)}（北京时间）`;
}
