/**
 * The payment ledger (拨款台账). Every write is one transaction with its audit row and the notice
 * it causes, so ledger, audit trail and outbox never disagree; and every write is idempotent
 * (keyed by pilot + tranche + purpose), so Temporal may retry it after any crash.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Notice } from '../domain/notice';
import type { Actor, Tranche } from '../domain/pilot';
import type { LedgerEntry, Prisma } from '../generated/prisma/client';
import type { Db, DbClient } from '../lib/db';
import { auditAutomaticAction } from './audit';
import { enqueueNotice } from './outbox';

export interface TrancheInstruction {
  pilotId: string;
  callId: string;
  tranche: Tranche;
  amountFen: number;
  /** Queued in the same transaction (absent for workflows that send it as a separate step). */
  notice?: Notice;
}

type Purpose = 'payment' | 'reclaim';
const key = (pilotId: string, tranche: Tranche, purpose: Purpose) => ({
  pilotId_tranche_purpose: { pilotId, tranche, purpose },
});

/** The ledger disagrees with what the workflow asks: never retried, visible in history and logs. */
function mismatch(message: string, details: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({ message, type: 'LEDGER_MISMATCH', nonRetryable: true, details: [details] });
}

/**
 * Moves one ledger row from `from` to the new status, once. A retry of the same move after its
 * commit (`done` recognises it) succeeds again; any other mismatch fails loudly: the ledger is never
 * reported changed when no row was.
 */
async function transition(
  tx: DbClient,
  row: { pilotId: string; tranche: Tranche; purpose: Purpose },
  from: Prisma.LedgerEntryWhereInput,
  data: Prisma.LedgerEntryUpdateManyMutationInput,
  done: (current: LedgerEntry) => boolean,
  what: string,
): Promise<boolean> {
  const { count } = await tx.ledgerEntry.updateMany({ where: { ...row, ...from }, data });
  if (count === 1) return true;
  const current = await tx.ledgerEntry.findUnique({ where: key(row.pilotId, row.tranche, row.purpose) });
  if (current && done(current)) return false;
  throw mismatch(`${what}: ${row.pilotId}/${row.tranche}`, {
    ...row,
    expected: from,
    ledger: current ? { kind: current.kind, status: current.status, amountFen: current.amountFen } : null,
  });
}

export function createPaymentActivities(db: Db) {
  /** The payment row for a pilot's tranche is unique: whoever writes it first decides, once. */
  async function ensurePayment(
    tx: DbClient,
    entry: { pilotId: string; callId: string; tranche: Tranche; amountFen: number },
    kind: 'instruction' | 'withholding',
    reason: string | null,
  ) {
    await tx.ledgerEntry.createMany({
      data: { ...entry, purpose: 'payment', kind, reason, status: kind === 'instruction' ? 'issued' : 'withheld' },
      skipDuplicates: true,
    });
    const row = await tx.ledgerEntry.findUniqueOrThrow({ where: key(entry.pilotId, entry.tranche, 'payment') });
    if (row.kind !== kind || row.amountFen !== entry.amountFen) {
      // Never pay what was withheld, nor a different amount than first instructed.
      throw ApplicationFailure.nonRetryable(
        `ledger conflict for ${entry.pilotId}/${entry.tranche}: ${row.kind} of ${row.amountFen} fen exists`,
        'LEDGER_CONFLICT',
      );
    }
    return { ledgerEntryId: String(row.id), status: row.status };
  }

  return {
    /** 拨款指令: the instruction to pay a tranche, exactly once per pilot and tranche. */
    async issuePaymentInstruction({ notice, ...instruction }: TrancheInstruction) {
      return db.$transaction(async (tx) => {
        const result = await ensurePayment(tx, instruction, 'instruction', null);
        await auditAutomaticAction(tx, instruction.pilotId, `instruction-issued:${instruction.tranche}`, {
          tranche: instruction.tranche,
          amountFen: instruction.amountFen,
          ledgerEntryId: result.ledgerEntryId,
        });
        if (notice) await enqueueNotice(tx, notice);
        return result;
      });
    },

    /** 不予拨付: records that a tranche will not be paid, and why. */
    async withholdTranche({ notice, reason, ...entry }: Omit<TrancheInstruction, 'callId'> & { reason: string }) {
      return db.$transaction(async (tx) => {
        const pilot = await tx.pilot.findUniqueOrThrow({ where: { id: entry.pilotId }, select: { callId: true } });
        const result = await ensurePayment(tx, { ...entry, callId: pilot.callId }, 'withholding', reason);
        await auditAutomaticAction(
          tx,
          entry.pilotId,
          `tranche-withheld:${entry.tranche}`,
          { tranche: entry.tranche, amountFen: entry.amountFen, ledgerEntryId: result.ledgerEntryId },
          reason,
        );
        if (notice) await enqueueNotice(tx, notice);
        return result;
      });
    },

    /**
     * Finance confirmed the instruction was executed. Only an issued instruction of this amount
     * can be confirmed; anything else fails loudly, never as a silent update of no row.
     */
    async recordTrancheConfirmation(confirmation: {
      pilotId: string;
      tranche: Tranche;
      reference: string;
      confirmedBy: Actor;
      at: string;
      /** Absent in workflows that started before amounts were checked. */
      amountFen?: number;
    }) {
      const { pilotId, tranche, reference, amountFen } = confirmation;
      await transition(
        db,
        { pilotId, tranche, purpose: 'payment' },
        { kind: 'instruction', status: 'issued', ...(amountFen === undefined ? {} : { amountFen }) },
        {
          status: 'confirmed',
          confirmationRef: reference,
          confirmedBy: confirmation.confirmedBy.id,
          confirmedAt: new Date(confirmation.at),
        },
        (row) => row.status === 'confirmed' && row.confirmationRef === reference,
        `no issued instruction of ${amountFen ?? 'any'} fen to confirm`,
      );
    },

    /** 作废: an instruction that was not executed will never be; the office is told in the same step. */
    async voidPaymentInstruction(voiding: {
      pilotId: string;
      tranche: Tranche;
      amountFen: number;
      reason: string;
      voidedBy: Actor;
      at: string;
      notice: Notice;
    }) {
      const { pilotId, tranche, amountFen, reason } = voiding;
      await db.$transaction(async (tx) => {
        const changed = await transition(
          tx,
          { pilotId, tranche, purpose: 'payment' },
          { kind: 'instruction', status: 'issued', amountFen },
          { status: 'voided', voidedBy: voiding.voidedBy.id, voidedAt: new Date(voiding.at), voidReason: reason },
          (row) => row.status === 'voided' && row.voidReason === reason,
          `no issued instruction of ${amountFen} fen to void`,
        );
        if (!changed) return;
        await auditAutomaticAction(tx, pilotId, `instruction-voided:${tranche}`, { tranche, amountFen }, reason);
        await enqueueNotice(tx, voiding.notice);
      });
    },

    /** 追回: a paid tranche of a pilot that submitted false material is to be paid back. */
    async openReclaim(reclaim: {
      pilotId: string;
      callId: string;
      tranche: Tranche;
      amountFen: number;
      reason: string;
      notice: Notice;
    }) {
      const { pilotId, callId, tranche, amountFen, reason } = reclaim;
      await db.$transaction(async (tx) => {
        await tx.ledgerEntry.createMany({
          data: { pilotId, callId, tranche, amountFen, reason, purpose: 'reclaim', kind: 'reclaim', status: 'open' },
          skipDuplicates: true,
        });
        const row = await tx.ledgerEntry.findUniqueOrThrow({ where: key(pilotId, tranche, 'reclaim') });
        if (row.amountFen !== amountFen) {
          throw mismatch(`a reclaim of ${row.amountFen} fen exists for ${pilotId}/${tranche}`, { pilotId, tranche });
        }
        await auditAutomaticAction(tx, pilotId, `reclaim-opened:${tranche}`, { tranche, amountFen }, reason);
        await enqueueNotice(tx, reclaim.notice);
      });
    },

    /** Finance closes a reclaim with the reference of the repayment. */
    async closeReclaim(closing: { pilotId: string; tranche: Tranche; reference: string; closedBy: Actor; at: string }) {
      const { pilotId, tranche, reference } = closing;
      await transition(
        db,
        { pilotId, tranche, purpose: 'reclaim' },
        { status: 'open' },
        {
          status: 'closed',
          confirmationRef: reference,
          confirmedBy: closing.closedBy.id,
          confirmedAt: new Date(closing.at),
        },
        (row) => row.status === 'closed' && row.confirmationRef === reference,
        'no open reclaim to close',
      );
    },
  };
}
