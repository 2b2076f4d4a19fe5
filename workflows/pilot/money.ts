/**
 * The pilot's money (经费): its two tranches in the ledger, and finance's part. Each ledger write
 * is an activity; a tranche's state changes only once the ledger has (patch 'ledger-first-outbox').
 */
import { formatYuan } from '../../domain/money';
import type { NoticeContent } from '../../domain/notice';
import type { Done, PilotState, Tranche, TrancheState } from '../../domain/pilot-state';
import { toMs } from '../../domain/duration';
import type { PilotEffects } from './effects';
import { PilotEnded } from './blocking';
import { asLedgerRefusal } from './refusal';

const TRANCHE_NAMES = { first: '第一批经费 first tranche', tail: '尾款 tail tranche' } as const;
const EARLY_ENDINGS: readonly PilotState['phase'][] = ['withdrawn', 'integrity_failed', 'rejected'];

export class Money {
  /** Finance's confirmations (and reclaims), awaited beside the lifecycle, reminded while late. */
  readonly confirmations: Promise<unknown>[] = [];

  constructor(private readonly life: PilotEffects) {}

  private get state(): PilotState {
    return this.life.state;
  }

  private get call() {
    return this.life.call;
  }

  /** 拨款指令: the instruction to pay a tranche, its notice to finance, and the wait for confirmation. */
  async issueTranche(tranche: Tranche): Promise<void> {
    if (this.life.ended()) throw new PilotEnded();
    const { state, call } = this;
    const t = state.tranches![tranche];
    const content: NoticeContent = { template: 'payment-instruction', tranche, amountFen: t.amountFen };
    const summary = `${TRANCHE_NAMES[tranche]} 拨款指令 instruction ${formatYuan(t.amountFen)} 元 CNY`;
    const instruction = { pilotId: state.pilotId, callId: call.id, tranche, amountFen: t.amountFen };
    if (this.life.rules.ledgerFirst) {
      // Issued once the ledger row exists (with its notice, in one transaction); meanwhile no
      // confirmation is accepted and an ending leaves this tranche to finance.
      t.inFlight = 'instruct';
      await this.life.write('issuePaymentInstruction', summary, {
        ...instruction,
        notice: this.life.notice(`instruction:${tranche}`, [call.financeEmail], content),
      });
      t.inFlight = null;
      t.status = 'issued';
      t.issuedAt = this.life.now();
    } else {
      t.status = 'issued';
      t.issuedAt = this.life.now();
      await this.life.write('issuePaymentInstruction', summary, instruction);
      await this.life.notify(`instruction:${tranche}`, [call.financeEmail], content);
    }
    await this.life.record(`${tranche}-tranche-issued`);
    // An instruction ends when finance confirms it was executed or voids it.
    this.awaitFinance('finance-confirmation', `finance-confirmation-${tranche}`, t.issuedAt, () =>
      ['confirmed', 'voided'].includes(t.status),
    );
  }

  /** Finance's part, awaited beside the lifecycle (the workflow ends only after it), reminded while late. */
  private awaitFinance(step: 'finance-confirmation' | 'reclaim', key: string, since: string, done: () => boolean) {
    const { timing, financeEmail } = this.call;
    this.confirmations.push(
      this.life.wait({
        step,
        key,
        done,
        due: () => this.life.after(since, timing.financeConfirmationWithin),
        reminders: { before: [], overdueEvery: toMs(timing.overdueReminderEvery) },
        to: [financeEmail],
        track: false,
      }),
    );
  }

  /** Finance confirmed an instruction was executed: the ledger row carries its reference. */
  async confirmTranche(tranche: Tranche, reference: string, done: Done): Promise<void> {
    const { state } = this;
    const t = state.tranches![tranche];
    const confirm = () =>
      this.life.write('recordTrancheConfirmation', `${TRANCHE_NAMES[tranche]} 财务确认 confirmed by finance`, {
        pilotId: state.pilotId,
        tranche,
        reference,
        confirmedBy: done.by,
        at: done.at,
        amountFen: t.amountFen,
      });
    if (this.life.rules.ledgerFirst) {
      await this.inLedger(t, 'confirm', confirm);
      t.status = 'confirmed';
      t.confirmation = { reference, ...done };
    } else {
      t.status = 'confirmed';
      t.confirmation = { reference, ...done };
      try {
        await confirm();
      } catch (error) {
        // The ledger had no such instruction: state goes back to agree with it.
        t.status = 'issued';
        t.confirmation = null;
        throw asLedgerRefusal(error);
      }
    }
    await this.life.record(`${tranche}-tranche-confirmed`, done);
    // Money paid to a pilot found to have submitted false material is reclaimed (追回).
    if (this.life.rules.ledgerFirst && state.phase === 'integrity_failed') await this.reclaim(tranche);
  }

  /** 作废: finance voids an instruction that was not executed; the office is told. */
  async voidTranche(tranche: Tranche, reason: string, done: Done): Promise<void> {
    const { state, call } = this;
    const t = state.tranches![tranche];
    await this.inLedger(t, 'void', () =>
      this.life.write('voidPaymentInstruction', `${TRANCHE_NAMES[tranche]} 指令作废 instruction voided`, {
        pilotId: state.pilotId,
        tranche,
        amountFen: t.amountFen,
        reason,
        voidedBy: done.by,
        at: done.at,
        notice: this.life.notice(`voided:${tranche}`, [call.office.email], {
          template: 'instruction-voided',
          tranche,
          amountFen: t.amountFen,
          reason,
        }),
      }),
    );
    t.status = 'voided';
    t.voided = { reason, ...done };
    await this.life.record(`${tranche}-tranche-voided`, done, reason);
  }

  /** 追回: the paid amount of a tranche is to come back; finance is told and reminded until it has. */
  async reclaim(tranche: Tranche): Promise<void> {
    const { state, call } = this;
    const t = state.tranches?.[tranche];
    // Once per tranche: a confirmation and the integrity flag may both get here, one while the
    // other's reclaim is still being written (its inFlight mark is set before any await).
    if (t?.status !== 'confirmed' || t.reclaim || t.inFlight === 'reclaim') return;
    const reason = state.ending?.reason ?? '';
    await this.inLedger(t, 'reclaim', () =>
      this.life.write('openReclaim', `${TRANCHE_NAMES[tranche]} 追回 reclaim ${formatYuan(t.amountFen)} 元 CNY`, {
        pilotId: state.pilotId,
        callId: call.id,
        tranche,
        amountFen: t.amountFen,
        reason,
        notice: this.life.notice(`reclaim:${tranche}`, [call.financeEmail], {
          template: 'reclaim-opened',
          tranche,
          amountFen: t.amountFen,
          reason,
        }),
      }),
    );
    const reclaim = { amountFen: t.amountFen, openedAt: this.life.now(), reason, closed: null };
    t.reclaim = reclaim;
    await this.life.record(`${tranche}-reclaim-opened`, undefined, reason);
    this.awaitFinance('reclaim', `reclaim-${tranche}`, reclaim.openedAt, () => t.reclaim?.closed != null);
  }

  /** Finance closes a reclaim with the reference of the repayment. */
  async closeReclaim(tranche: Tranche, reference: string, done: Done): Promise<void> {
    const { state } = this;
    const t = state.tranches![tranche];
    await this.inLedger(t, 'reclaim', () =>
      this.life.write('closeReclaim', `${TRANCHE_NAMES[tranche]} 追回办结 reclaim closed`, {
        pilotId: state.pilotId,
        tranche,
        reference,
        closedBy: done.by,
        at: done.at,
      }),
    );
    t.reclaim!.closed = { reference, ...done };
    await this.life.record(`${tranche}-reclaim-closed`, done);
  }

  /**
   * A ledger write for one tranche: other money actions on it are refused (TRANCHE_BUSY) until it
   * is done, and a ledger that disagrees refuses the action (LEDGER_MISMATCH) without touching state.
   */
  private async inLedger(t: TrancheState, what: NonNullable<TrancheState['inFlight']>, write: () => Promise<unknown>) {
    t.inFlight = what;
    try {
      await write();
    } catch (error) {
      throw asLedgerRefusal(error);
    } finally {
      t.inFlight = null;
    }
  }

  /**
   * Every instruction confirmed or voided, every reclaim closed, no handler running. A handler
   * still running may open a reclaim (a confirmation after 弄虚作假): then that is waited for too.
   */
  async moneySettled(): Promise<void> {
    for (;;) {
      const waits = this.confirmations.length;
      await Promise.all(this.confirmations);
      await this.life.handlersFinished();
      if (this.confirmations.length === waits) return;
    }
  }

  /**
   * The pilot's story ended early while instructions are open: finance is asked to confirm (if
   * executed) or void each one, and the workflow waits for that.
   */
  async announceOpenInstructions(): Promise<void> {
    const { state, call } = this;
    if (!this.life.rules.ledgerFirst || !EARLY_ENDINGS.includes(state.phase)) return;
    // A confirmation or void being written decides first: finance is not asked about money it
    // has just confirmed.
    await this.life.blockBeside(() => !['first', 'tail'].some((t) => state.tranches?.[t as Tranche].inFlight));
    for (const tranche of ['first', 'tail'] as const) {
      const t = state.tranches?.[tranche];
      if (t?.status !== 'issued') continue;
      await this.life.notify(`instruction-open:${tranche}`, [call.financeEmail], {
        template: 'instruction-open-after-end',
        tranche,
        amountFen: t.amountFen,
        ending: state.phase,
      });
    }
  }

  /** 不予拨付: a tranche will not be paid; the pilot's contacts and the office are told why. */
  async withhold(tranche: Tranche, reason: string): Promise<void> {
    const { state, call } = this;
    const t = state.tranches![tranche];
    t.status = 'withheld';
    t.withheld = { at: this.life.now(), reason };
    const to = [...this.life.pilotContacts, call.office.email];
    const content: NoticeContent = { template: 'tranche-withheld', tranche, amountFen: t.amountFen, reason };
    const withholding = { pilotId: state.pilotId, tranche, amountFen: t.amountFen, reason };
    const summary = `${TRANCHE_NAMES[tranche]} 不予拨付 withheld ${formatYuan(t.amountFen)} 元 CNY`;
    if (this.life.rules.ledgerFirst) {
      await this.life.write('withholdTranche', summary, {
        ...withholding,
        notice: this.life.notice(`withheld:${tranche}`, to, content),
      });
    } else {
      await this.life.write('withholdTranche', summary, withholding);
      await this.life.notify(`withheld:${tranche}`, to, content);
    }
  }

  /**
   * When a pilot ends early, tranches not yet instructed are withheld, with the reason. One whose
   * instruction is being written is left to it: it ends as an open instruction for finance.
   */
  async withholdPending(reason: string): Promise<void> {
    for (const tranche of ['first', 'tail'] as const) {
      const t = this.state.tranches?.[tranche];
      if (t?.status === 'pending' && !t.inFlight) await this.withhold(tranche, reason);
    }
  }

  /** 弄虚作假 after money was paid: every confirmed tranche is reclaimed. */
  async reclaimPaid(): Promise<void> {
    if (!this.life.rules.ledgerFirst) return;
    for (const tranche of ['first', 'tail'] as const) await this.reclaim(tranche);
  }
}
