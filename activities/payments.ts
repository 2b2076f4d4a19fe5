import { ApplicationFailure } from '@temporalio/activity';
import type { Actor, Tranche } from '../domain/pilot';
import type { Db } from '../lib/db';
import { auditAutomaticAction } from './audit';

export interface TrancheInstruction {
  pilotId: string;
  callId: string;
  tranche: Tranche;
  amountFen: number;
}

export function createPaymentActivities(db: Db) {
  /** The ledger row for a pilot's tranche is unique: whoever writes it first decides, once. */
  async function ensureEntry(
    entry: { pilotId: string; callId: string; tranche: Tranche; amountFen: number },
    kind: 'instruction' | 'withholding',
    reason: string | null,
  ) {
    await db.ledgerEntry.createMany({
      data: { ...entry, kind, reason, status: kind === 'instruction' ? 'issued' : 'withheld' },
      skipDuplicates: true,
    });
    const row = await db.ledgerEntry.findUniqueOrThrow({
      where: { pilotId_tranche: { pilotId: entry.pilotId, tranche: entry.tranche } },
    });
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
    /** 拨款指令: writes the instruction to pay a tranche, exactly once per pilot and tranche. */
    async issuePaymentInstruction(instruction: TrancheInstruction) {
      const result = await ensureEntry(instruction, 'instruction', null);
      await auditAutomaticAction(db, instruction.pilotId, `instruction-issued:${instruction.tranche}`, {
        tranche: instruction.tranche,
        amountFen: instruction.amountFen,
        ledgerEntryId: result.ledgerEntryId,
      });
      return result;
    },

    /** 不予拨付: records that a tranche will not be paid, and why. */
    async withholdTranche(withholding: Omit<TrancheInstruction, 'callId'> & { reason: string }) {
      const pilot = await db.pilot.findUniqueOrThrow({ where: { id: withholding.pilotId }, select: { callId: true } });
      const { reason, ...entry } = withholding;
      const result = await ensureEntry({ ...entry, callId: pilot.callId }, 'withholding', reason);
      await auditAutomaticAction(
        db,
        withholding.pilotId,
        `tranche-withheld:${withholding.tranche}`,
        { tranche: withholding.tranche, amountFen: withholding.amountFen, ledgerEntryId: result.ledgerEntryId },
        reason,
      );
      return result;
    },

    async recordTrancheConfirmation(confirmation: {
      pilotId: string;
      tranche: Tranche;
      reference: string;
      confirmedBy: Actor;
      at: string;
    }) {
      await db.ledgerEntry.updateMany({
        where: { pilotId: confirmation.pilotId, tranche: confirmation.tranche, kind: 'instruction', status: 'issued' },
        data: {
          status: 'confirmed',
          confirmationRef: confirmation.reference,
          confirmedBy: confirmation.confirmedBy.id,
          confirmedAt: new Date(confirmation.at),
        },
      });
    },
  };
}
