/**
 * Chinese telephone numbers as people write them in a form's boxes (手机, 传真, 办公电话): with or
 * without parentheses round the area code, spaces and hyphens anywhere, full-width characters
 * typed with a Chinese input method, +86 or 0086 in front, an extension after a hyphen or 转/分机.
 * Pure and without zod; the form's schema decides which kinds each box takes.
 */

export type PhoneKind = 'mobile' | 'landline' | 'service';

export interface PhoneNumber {
  kind: PhoneKind;
  /** The number as dialled inside mainland China: 13800138000, 01068572088, 4008108888. */
  national: string;
  extension: string | null;
}

/** Longer than any real number with its extension and separators: junk, not a number. */
const MAX_LENGTH = 40;

/**
 * The text as it is kept: full-width characters made half-width (NFKC: "（010）" is "(010)",
 * "０" is "0", "／" is "/"), dashes of any kind a hyphen, runs of spaces one space. Still the
 * number as written, only readable by everyone.
 */
export function normalisePhoneText(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\u2010-\u2015\u2212\uFE58\uFE63]/g, '-')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Mobile: 11 digits from 13x to 19x. */
const MOBILE = /^1[3-9]\d{9}$/;
/** 400/800 service numbers: 10 digits. */
const SERVICE = /^[48]00\d{7}$/;
/** Area code with its trunk 0: 010 and 02x take 8-digit numbers, 0xxx take 7 or 8 digits. */
const LANDLINE = /^0(?:(?:10|2\d)\d{8}|[3-9]\d{2}\d{7,8})$/;
/** A local number without area code, as the current schema has always accepted: 7 or 8 digits. */
const LOCAL = /^[2-9]\d{6,7}$/;

/** The number before any extension, or null: one pair of parentheses at most, "+" only in front. */
function nationalNumber(main: string): Omit<PhoneNumber, 'extension'> | null {
  if (!/^\+?[\d ()-]+$/.test(main) || !/^[^()]*(\(\d+\))?[^()]*$/.test(main)) return null;
  let digits = main.replace(/[ ()-]/g, '');
  let international = false;
  if (digits.startsWith('+86')) [digits, international] = [digits.slice(3), true];
  else if (digits.startsWith('0086')) [digits, international] = [digits.slice(4), true];
  else if (digits.startsWith('+')) return null; // a number abroad is not a contact in China
  if (international) {
    // "+86 (0)10 …": the trunk 0 is sometimes written after the country code.
    if (digits.startsWith('0')) digits = digits.slice(1);
    if (MOBILE.test(digits)) return { kind: 'mobile', national: digits };
    if (SERVICE.test(digits)) return { kind: 'service', national: digits };
    return LANDLINE.test(`0${digits}`) ? { kind: 'landline', national: `0${digits}` } : null;
  }
  if (MOBILE.test(digits)) return { kind: 'mobile', national: digits };
  if (SERVICE.test(digits)) return { kind: 'service', national: digits };
  if (LANDLINE.test(digits) || LOCAL.test(digits)) return { kind: 'landline', national: digits };
  return null;
}

/**
 * The number a box's text names, or null when it names none ("12345", letters, too long).
 * An extension follows 转, 分机, ext or x, or the last hyphen when what precedes it is already a
 * whole number ("010-68572088-123"); "400-810-8888" and "010-6857-2088" are read whole, since
 * "400-810" and "010-6857" are not numbers. Only landlines and service numbers have extensions.
 */
export function parsePhone(text: string): PhoneNumber | null {
  const written = normalisePhoneText(text);
  if (written.length === 0 || written.length > MAX_LENGTH) return null;
  const named = /^(.*?)\s*(?:转|分机|ext\.?|x)\s*(\d{1,6})$/i.exec(written);
  const hyphened = /^(.*\d)\s*-\s*(\d{1,6})$/.exec(written);
  const readings: [string, string | null][] = [
    ...(named ? [[named[1]!, named[2]!] as [string, string]] : []),
    ...(hyphened ? [[hyphened[1]!, hyphened[2]!] as [string, string]] : []),
    [written, null],
  ];
  for (const [main, extension] of readings) {
    const number = nationalNumber(main.trim());
    if (!number || (extension !== null && number.kind === 'mobile')) continue;
    return { ...number, extension };
  }
  return null;
}
