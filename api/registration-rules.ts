/**
 * Rules of the notice checked when staff register an expected application: who may apply for whom
 * (the provincial association of the pilot unit's province, 省级科协), and the units barred by an
 * integrity record (弄虚作假) from an earlier call.
 */
import type { Call } from '../domain/call';
import type { PilotRegistration } from '../domain/pilot';
import { findProvince, provinceName } from '../domain/provinces';
import { formatBeijing } from '../domain/time';
import type { Db } from '../lib/db';
import { Problem } from './problem';

/** The names of a provincial association (省级科协): the province's official or short name + 科学技术协会 or 科协. */
const ASSOCIATION = /^(.+?)(科学技术协会|科协)$/;

/**
 * The province whose provincial association a name is ("浙江省科学技术协会", "浙江科协" → 330000);
 * undefined for any other unit, prefecture-level ones included ("吉林市科协", "浙江省杭州市科协").
 */
export function provinceOfAssociation(name: string): string | undefined {
  const match = ASSOCIATION.exec(name.normalize('NFC').replace(/\s+/g, ''));
  const province = match ? findProvince(match[1]!) : undefined;
  return province && (match![1] === province.name || match![1] === province.short) ? province.code : undefined;
}

/**
 * The applicant is the provincial association of the pilot unit's province; a provincial pilot is
 * its own applicant. Returns the registration with the applicant's province set.
 */
export function checkApplicant(registration: PilotRegistration): PilotRegistration {
  const { pilotUnit, applicantUnit, province, provincial } = registration;
  const pilotProvince = provinceName(province);
  if (applicantUnit.province !== undefined && applicantUnit.province !== province) {
    throw new Problem(
      'APPLICANT_NOT_PROVINCIAL_ASSOCIATION',
      `申报单位属${provinceName(applicantUnit.province)}，试点单位属${pilotProvince} / the applicant unit is in ${applicantUnit.province}, the pilot unit in ${province}`,
    );
  }
  if (provinceOfAssociation(applicantUnit.name) !== province) {
    throw new Problem(
      'APPLICANT_NOT_PROVINCIAL_ASSOCIATION',
      `申报单位应为${pilotProvince}的省级科协 / the applicant must be ${pilotProvince}'s provincial association`,
    );
  }
  if (provincial && applicantUnit.name.normalize('NFC') !== pilotUnit.name.normalize('NFC')) {
    throw new Problem(
      'APPLICANT_NOT_PROVINCIAL_ASSOCIATION',
      '省级试点由本单位申报：申报单位与试点单位应为同一单位 / a provincial pilot applies for itself',
    );
  }
  return { ...registration, applicantUnit: { ...applicantUnit, province } };
}

export interface IntegrityRecord {
  pilotId: string;
  callId: string | null;
  pilotUnitCode: string;
  pilotUnitName: string | null;
  reason: string;
  flaggedBy: string;
  flaggedAt: string;
  flaggedAtBeijing: string;
}

/** A unit's integrity records, by its code or its name (a unit may come back under another code). */
export async function integrityRecords(db: Db, unit: { code: string; name?: string }): Promise<IntegrityRecord[]> {
  const named = unit.name
    ? await db.pilot.findMany({ where: { pilotUnitName: unit.name.normalize('NFC') }, select: { id: true } })
    : [];
  const flags = await db.unitIntegrityFlag.findMany({
    where: { OR: [{ pilotUnitCode: unit.code }, { pilotId: { in: named.map((p) => p.id) } }] },
    orderBy: { flaggedAt: 'desc' },
  });
  const pilots = await db.pilot.findMany({
    where: { id: { in: flags.map((f) => f.pilotId) } },
    select: { id: true, callId: true, pilotUnitName: true },
  });
  const byId = new Map(pilots.map((p) => [p.id, p]));
  return flags.map((f) => ({
    pilotId: f.pilotId,
    callId: byId.get(f.pilotId)?.callId ?? null,
    pilotUnitCode: f.pilotUnitCode,
    pilotUnitName: byId.get(f.pilotId)?.pilotUnitName ?? null,
    reason: f.reason,
    flaggedBy: f.flaggedBy,
    flaggedAt: f.flaggedAt.toISOString(),
    flaggedAtBeijing: formatBeijing(f.flaggedAt),
  }));
}

const YEAR_MS = 365.2425 * 24 * 60 * 60 * 1000;

/** Refuses a unit with an integrity record, unless the call readmits it after the years it states. */
export async function checkIntegrity(db: Db, call: Call, registration: PilotRegistration, now = Date.now()) {
  const records = await integrityRecords(db, registration.pilotUnit);
  const latest = records[0];
  if (!latest) return;
  const years = call.integrity.readmitAfterYears;
  if (years !== null && now - Date.parse(latest.flaggedAt) >= years * YEAR_MS) return;
  throw new Problem(
    'UNIT_INTEGRITY_RECORD',
    `记录于申报通知 ${latest.callId ?? '?'}，${latest.flaggedAtBeijing} / recorded under call ${latest.callId ?? '?'} on ${latest.flaggedAt.slice(0, 10)}` +
      (years === null ? '' : `；本通知 ${years} 年后可再申报 / this call readmits after ${years} years`),
  );
}
