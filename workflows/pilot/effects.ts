/**
 * What the pilot workflow does to the world, holding the pilot's state: record a step, notify
 * people, wait with reminders, issue or withhold a tranche, publish what auditors filter by.
 * Every side effect is an activity; everything here is deterministic workflow code.
 */
import { proxyActivities, setCurrentDetails, upsertSearchAttributes, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { Call } from '../../domain/call';
import { toMs, type DurationText } from '../../domain/duration';
import { formatYuan } from '../../domain/money';
import type { Notice, NoticeContent } from '../../domain/notice';
import {
  ENDED_PHASES,
  type Actor,
  type Done,
  type PilotState,
  type Tranche,
  type TrancheState,
} from '../../domain/pilot';
import { searchAttributesOf } from '../../domain/search-attributes';
import { formatBeijing } from '../../domain/time';
import { Settling } from './blocking';
import { asLedgerRefusal } from './refusal';
import { waitWithReminders, type Waiting } from './waiting';

/**
 * Database writes: one short transaction each, idempotent, retried for as long as the database is
 * away. The short timeout is what brings a write back within seconds when the worker running it
 * was killed (a write takes milliseconds; the pool gives up connecting after 5 s).
 */
const DATABASE_WRITE: ActivityOptions = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' },
};
const {
  recordPilotStep,
  issuePaymentInstruction,
  recordTrancheConfirmation,
  voidPaymentInstruction,
  withholdTranche,
  openReclaim,
  closeReclaim,
  flagUnitIntegrity,
  sendNotice,
} = proxyActivities<Activities>(DATABASE_WRITE);

const TRANCHE_NAMES = { first: '第一批经费 first tranche', tail: '尾款 tail tranche' } as const;

/** Raised inside the workflow when staff end the pilot (withdrawal, integrity); never leaves it. */
export class PilotEnded extends Error {}

export type Wait = Omit<Waiting, 'abandoned' | 'remind' | 'block'> & { to: string[]; track?: boolean };

/** What a pilot's history was recorded with: old histories replay the way they ran. */
export interface Rules {
  /** Search attributes and summaries (patch 'search-attributes-and-summaries'). */
  auditable: boolean;
  /**
   * Money under faults (patch 'ledger-first-outbox'): a tranche is issued or confirmed in state
   * only once the ledger says so; notices are queued in the ledger's transaction; early endings
   * tell finance of open instructions; paid tranches of a 弄虚作假 pilot are reclaimed.
   */
  ledgerFirst: boolean;
}

const EARLY_ENDINGS: readonly PilotState['phase'][] = ['withdrawn', 'integrity_failed', 'rejected'];

export class PilotEffects extends Settling {
  /** Finance's confirmations, awaited beside the lifecycle, with reminders while late. */
  readonly confirmations: Promise<unknown>[] = [];
  private published = '';

  constructor(
    readonly state: PilotState,
    readonly call: Call,
    /** E-mail addresses of the pilot's contacts from its registration (personal data). */
    readonly pilotContacts: string[],
    readonly rules: Rules,
  ) {
    super();
  }

  private get auditable(): boolean {
    return this.rules.auditable;
  }

  /** Workflow time as UTC ISO. */
  now(): string {
    return new Date(Date.now()).toISOString();
  }

  after(from: string, duration: DurationText): string {
    return new Date(Date.parse(from) + toMs(duration)).toISOString();
  }

  ended(): boolean {
    return ENDED_PHASES.includes(this.state.phase);
  }

  summary(text: string): { summary?: string } {
    return this.auditable ? { summary: text } : {};
  }

  /** What auditors see in the Web UI's list and header: search attributes and the details line. */
  publish(): void {
    const { state } = this;
    const waiting = state.waitingFor
      ? ` · 等待 waiting for: ${state.waitingFor.what}${state.waitingFor.until ? ` · 截止 until: ${formatBeijing(state.waitingFor.until)}` : ''}`
      : '';
    setCurrentDetails(`阶段 phase: ${state.phase}${waiting}`);
    if (!this.auditable) return;
    const attributes = searchAttributesOf(state);
    const signature = JSON.stringify(attributes.map((a) => a.value));
    if (signature === this.published) return;
    this.published = signature;
    upsertSearchAttributes(attributes);
  }

  /** Records a step; `who` is the decision (with its actor and update id) or the acting user. */
  async record(step: string, who?: Actor | Done, reason?: string): Promise<void> {
    const { state } = this;
    state.version += 1;
    state.updatedAt = this.now();
    this.publish();
    const actor = who && 'by' in who ? who.by : who;
    const updateId = who && 'by' in who ? who.updateId : undefined;
    await recordPilotStep.executeWithOptions({ ...DATABASE_WRITE, ...this.summary(`记录 record: ${step}`) }, [
      { step, state, actor, reason, updateId },
    ]);
  }

  /** A notice of this pilot; its key makes it once-only across retries and replays. */
  notice(key: string, to: string[], content: NoticeContent): Notice {
    const { state, call } = this;
    return {
      key: `${state.pilotId}:${key}`,
      pilotId: state.pilotId,
      pilotName: state.pilotUnit.name,
      callName: call.name,
      to,
      content,
    };
  }

  /** Queues a notice on its own (reminders); the outbox relay delivers it. */
  notify(key: string, to: string[], content: NoticeContent): Promise<unknown> {
    return sendNotice.executeWithOptions({ ...DATABASE_WRITE, ...this.summary(`通知 notice: ${key}`) }, [
      this.notice(key, to, content),
    ]);
  }

  /**
   * Waits for a person, with reminders. Tracked waits are the lifecycle's: they show what the
   * pilot waits for and end when the pilot ends. Untracked ones (finance confirmations) outlive
   * the pilot's story: instructed money is confirmed.
   */
  async wait(w: Wait) {
    const track = w.track !== false;
    if (track) {
      this.state.waitingFor = { what: w.step as NonNullable<PilotState['waitingFor']>['what'], until: w.due() };
      this.publish();
    }
    const outcome = await waitWithReminders({
      ...w,
      describe: this.auditable ? (due) => `${w.step} 截止 due ${formatBeijing(due)}` : undefined,
      block: track ? this.blockUntil : this.blockBeside,
      abandoned: track ? () => this.ended() : () => false,
      remind: (key, content) => this.notify(key, w.to, content),
    });
    if (outcome === 'abandoned' && track) throw new PilotEnded();
    return outcome;
  }

  /** 拨款指令: the instruction to pay a tranche, its notice to finance, and the wait for confirmation. */
  async issueTranche(tranche: Tranche): Promise<void> {
    if (this.ended()) throw new PilotEnded();
    const { state, call } = this;
    const t = state.tranches![tranche];
    const content: NoticeContent = { template: 'payment-instruction', tranche, amountFen: t.amountFen };
    const options = {
      ...DATABASE_WRITE,
      ...this.summary(`${TRANCHE_NAMES[tranche]} 拨款指令 instruction ${formatYuan(t.amountFen)} 元 CNY`),
    };
    const instruction = { pilotId: state.pilotId, callId: call.id, tranche, amountFen: t.amountFen };
    if (this.rules.ledgerFirst) {
      // Issued once the ledger row exists (with its notice, in one transaction); meanwhile no
      // confirmation is accepted and an ending leaves this tranche to finance.
      t.inFlight = 'instruct';
      await issuePaymentInstruction.executeWithOptions(options, [
        { ...instruction, notice: this.notice(`instruction:${tranche}`, [call.financeEmail], content) },
      ]);
      t.inFlight = null;
      t.status = 'issued';
      t.issuedAt = this.now();
    } else {
      t.status = 'issued';
      t.issuedAt = this.now();
      await issuePaymentInstruction.executeWithOptions(options, [instruction]);
      await this.notify(`instruction:${tranche}`, [call.financeEmail], content);
    }
    await this.record(`${tranche}-tranche-issued`);
    // An instruction ends when finance confirms it was executed or voids it.
    this.awaitFinance('finance-confirmation', `finance-confirmation-${tranche}`, t.issuedAt, () =>
      ['confirmed', 'voided'].includes(t.status),
    );
  }

  /** Finance's part, awaited beside the lifecycle (the workflow ends only after it), reminded while late. */
  private awaitFinance(step: 'finance-confirmation' | 'reclaim', key: string, since: string, done: () => boolean) {
    const { timing, financeEmail } = this.call;
    this.confirmations.push(
      this.wait({
        step,
        key,
        done,
        due: () => this.after(since, timing.financeConfirmationWithin),
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
      recordTrancheConfirmation.executeWithOptions(
        { ...DATABASE_WRITE, ...this.summary(`${TRANCHE_NAMES[tranche]} 财务确认 confirmed by finance`) },
        [{ pilotId: state.pilotId, tranche, reference, confirmedBy: done.by, at: done.at, amountFen: t.amountFen }],
      );
    if (this.rules.ledgerFirst) {
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
    await this.record(`${tranche}-tranche-confirmed`, done);
    // Money paid to a pilot found to have submitted false material is reclaimed (追回).
    if (this.rules.ledgerFirst && state.phase === 'integrity_failed') await this.reclaim(tranche);
  }

  /** 作废: finance voids an instruction that was not executed; the office is told. */
  async voidTranche(tranche: Tranche, reason: string, done: Done): Promise<void> {
    const { state, call } = this;
    const t = state.tranches![tranche];
    await this.inLedger(t, 'void', () =>
      voidPaymentInstruction.executeWithOptions(
        { ...DATABASE_WRITE, ...this.summary(`${TRANCHE_NAMES[tranche]} 指令作废 instruction voided`) },
        [
          {
            pilotId: state.pilotId,
            tranche,
            amountFen: t.amountFen,
            reason,
            voidedBy: done.by,
            at: done.at,
            notice: this.notice(`voided:${tranche}`, [call.office.email], {
              template: 'instruction-voided',
              tranche,
              amountFen: t.amountFen,
              reason,
            }),
          },
        ],
      ),
    );
    t.status = 'voided';
    t.voided = { reason, ...done };
    await this.record(`${tranche}-tranche-voided`, done, reason);
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
      openReclaim.executeWithOptions(
        {
          ...DATABASE_WRITE,
          ...this.summary(`${TRANCHE_NAMES[tranche]} 追回 reclaim ${formatYuan(t.amountFen)} 元 CNY`),
        },
        [
          {
            pilotId: state.pilotId,
            callId: call.id,
            tranche,
            amountFen: t.amountFen,
            reason,
            notice: this.notice(`reclaim:${tranche}`, [call.financeEmail], {
              template: 'reclaim-opened',
              tranche,
              amountFen: t.amountFen,
              reason,
            }),
          },
        ],
      ),
    );
    const reclaim = { amountFen: t.amountFen, openedAt: this.now(), reason, closed: null };
    t.reclaim = reclaim;
    await this.record(`${tranche}-reclaim-opened`, undefined, reason);
    this.awaitFinance('reclaim', `reclaim-${tranche}`, reclaim.openedAt, () => t.reclaim?.closed != null);
  }

  /** Finance closes a reclaim with the reference of the repayment. */
  async closeReclaim(tranche: Tranche, reference: string, done: Done): Promise<void> {
    const { state } = this;
    const t = state.tranches![tranche];
    await this.inLedger(t, 'reclaim', () =>
      closeReclaim.executeWithOptions(
        { ...DATABASE_WRITE, ...this.summary(`${TRANCHE_NAMES[tranche]} 追回办结 reclaim closed`) },
        [{ pilotId: state.pilotId, tranche, reference, closedBy: done.by, at: done.at }],
      ),
    );
    t.reclaim!.closed = { reference, ...done };
    await this.record(`${tranche}-reclaim-closed`, done);
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
      await this.handlersFinished();
      if (this.confirmations.length === waits) return;
    }
  }

  /**
   * The pilot's story ended early while instructions are open: finance is asked to confirm (if
   * executed) or void each one, and the workflow waits for that.
   */
  async announceOpenInstructions(): Promise<void> {
    const { state, call } = this;
    if (!this.rules.ledgerFirst || !EARLY_ENDINGS.includes(state.phase)) return;
    // A confirmation or void being written decides first: finance is not asked about money it
    // has just confirmed.
    await this.blockBeside(() => !['first', 'tail'].some((t) => state.tranches?.[t as Tranche].inFlight));
    for (const tranche of ['first', 'tail'] as const) {
      const t = state.tranches?.[tranche];
      if (t?.status !== 'issued') continue;
      await this.notify(`instruction-open:${tranche}`, [call.financeEmail], {
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
    t.withheld = { at: this.now(), reason };
    const to = [...this.pilotContacts, call.office.email];
    const content: NoticeContent = { template: 'tranche-withheld', tranche, amountFen: t.amountFen, reason };
    const withholding = { pilotId: state.pilotId, tranche, amountFen: t.amountFen, reason };
    const options = {
      ...DATABASE_WRITE,
      ...this.summary(`${TRANCHE_NAMES[tranche]} 不予拨付 withheld ${formatYuan(t.amountFen)} 元 CNY`),
    };
    if (this.rules.ledgerFirst) {
      await withholdTranche.executeWithOptions(options, [
        { ...withholding, notice: this.notice(`withheld:${tranche}`, to, content) },
      ]);
    } else {
      await withholdTranche.executeWithOptions(options, [withholding]);
      await this.notify(`withheld:${tranche}`, to, content);
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
    if (!this.rules.ledgerFirst) return;
    for (const tranche of ['first', 'tail'] as const) await this.reclaim(tranche);
  }

  /** 弄虚作假: the flag stays on the unit's record, whatever becomes of this pilot. */
  flagUnitIntegrity(reason: string, done: Done): Promise<unknown> {
    const { state } = this;
    return flagUnitIntegrity.executeWithOptions(
      { ...DATABASE_WRITE, ...this.summary('弄虚作假记入单位档案 integrity flag on the unit’s record') },
      [{ pilotId: state.pilotId, pilotUnitCode: state.pilotUnit.code, reason, flaggedBy: done.by, at: done.at }],
    );
  }
}
