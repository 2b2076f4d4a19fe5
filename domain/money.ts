/**
 * Money is integer fen (分). The first tranche is the approved amount times the call's share,
 * rounded down to the fen; the tail is the remainder, so the two always add up exactly.
 */
export interface TrancheAmounts {
  first: number;
  tail: number;
}

export function splitTranches(approvedFen: number, firstBasisPoints: number): TrancheAmounts {
  if (!Number.isSafeInteger(approvedFen) || approvedFen < 0)
    throw new RangeError(`not an amount in fen: ${approvedFen}`);
  const first = Math.floor((approvedFen * firstBasisPoints) / 10_000);
  return { first, tail: approvedFen - first };
}

/** "200,000.00" for people; never used for arithmetic. */
export function formatYuan(fen: number): string {
  const yuan = Math.trunc(fen / 100);
  const cents = String(Math.abs(fen % 100)).padStart(2, '0');
  return `${yuan.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${cents}`;
}
