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
import type { NoticeContent } from '../../domain/notice';
import { ENDED_PHASES, type Actor, type Done, type PilotState, type Tranche } from '../../domain/pilot';
import { searchAttributesOf } from '../../domain/search-attributes';
import { formatBeijing } from '../../domain/time';
import { Settling } from './blocking';
import { waitWithReminders, type Waiting } from './waiting';

/** Database writes: short, idempotent, retried for as long as the database is away. */
const DATABASE_WRITE: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
};
/** SMTP can be slow or down for a while; the outbox keeps each message once per key meanwhile. */
const MAIL: ActivityOptions = {
  startToCloseTimeout: '1m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '10m' },
};
const { recordPilotStep, issuePaymentInstruction, recordTrancheConfirmation, withholdTranche, flagUnitIntegrity } =
  proxyActivities<Activities>(DATABASE_WRITE);
const { sendNotice } = proxyActivities<Activities>(MAIL);

const TRANCHE_NAMES = { first: '第一批经费 first tranche', tail: '尾款 tail tranche' } as const;

/** Raised inside the workflow when staff end the pilot (withdrawal, integrity); never leaves it. */
export class PilotEnded extends Error {}

export type Wait = Omit<Waiting, 'abandoned' | 'remind' | 'block'> & { to: string[]; track?: boolean };

export class PilotEffects extends Settling {
  /** Finance's confirmations, awaited beside the lifecycle, with reminders while late. */
  readonly confirmations: Promise<unknown>[] = [];
  private published = '';

  /**
   * @param auditable false while replaying histories recorded before search attributes and
   *   summaries existed (the patch in `pilot.ts`)
   */
  constructor(
    readonly state: PilotState,
    readonly call: Call,
    /** E-mail addresses of the pilot's contacts from its registration (personal data). */
    readonly pilotContacts: string[],
    private readonly auditable: boolean,
  ) {
    super();
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

  notify(key: string, to: string[], content: NoticeContent): Promise<unknown> {
    const { state, call } = this;
    return sendNotice.executeWithOptions({ ...MAIL, ...this.summary(`通知 notice: ${key}`) }, [
      {
        key: `${state.pilotId}:${key}`,
        pilotId: state.pilotId,
        pilotName: state.pilotUnit.name,
        callName: call.name,
        to,
        content,
      },
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
    t.status = 'issued';
    t.issuedAt = this.now();
    await issuePaymentInstruction.executeWithOptions(
      {
        ...DATABASE_WRITE,
        ...this.summary(`${TRANCHE_NAMES[tranche]} 拨款指令 instruction ${formatYuan(t.amountFen)} 元 CNY`),
      },
      [{ pilotId: state.pilotId, callId: call.id, tranche, amountFen: t.amountFen }],
    );
    await this.notify(`instruction:${tranche}`, [call.financeEmail], {
      template: 'payment-instruction',
      tranche,
      amountFen: t.amountFen,
    });
    await this.record(`${tranche}-tranche-issued`);
    const issuedAt = t.issuedAt;
    this.confirmations.push(
      this.wait({
        step: 'finance-confirmation',
        key: `finance-confirmation-${tranche}`,
        done: () => t.status === 'confirmed',
        due: () => this.after(issuedAt, call.timing.financeConfirmationWithin),
        reminders: { before: [], overdueEvery: toMs(call.timing.overdueReminderEvery) },
        to: [call.financeEmail],
        track: false,
      }),
    );
  }

  /** Finance confirmed an instruction was executed: the ledger row carries its reference. */
  async confirmTranche(tranche: Tranche, reference: string, done: Done): Promise<void> {
    const { state } = this;
    const t = state.tranches![tranche];
    t.status = 'confirmed';
    t.confirmation = { reference, ...done };
    await recordTrancheConfirmation.executeWithOptions(
      { ...DATABASE_WRITE, ...this.summary(`${TRANCHE_NAMES[tranche]} 财务确认 confirmed by finance`) },
      [{ pilotId: state.pilotId, tranche, reference, confirmedBy: done.by, at: done.at }],
    );
    await this.record(`${tranche}-tranche-confirmed`, done);
  }

  /** 不予拨付: a tranche will not be paid; the pilot's contacts and the office are told why. */
  async withhold(tranche: Tranche, reason: string): Promise<void> {
    const { state, call } = this;
    const t = state.tranches![tranche];
    t.status = 'withheld';
    t.withheld = { at: this.now(), reason };
    await withholdTranche.executeWithOptions(
      {
        ...DATABASE_WRITE,
        ...this.summary(`${TRANCHE_NAMES[tranche]} 不予拨付 withheld ${formatYuan(t.amountFen)} 元 CNY`),
      },
      [{ pilotId: state.pilotId, tranche, amountFen: t.amountFen, reason }],
    );
    await this.notify(`withheld:${tranche}`, [...this.pilotContacts, call.office.email], {
      template: 'tranche-withheld',
      tranche,
      amountFen: t.amountFen,
      reason,
    });
  }

  /** When a pilot ends early, tranches not yet instructed are withheld, with the reason. */
  async withholdPending(reason: string): Promise<void> {
    for (const tranche of ['first', 'tail'] as const) {
      if (this.state.tranches?.[tranche].status === 'pending') await this.withhold(tranche, reason);
    }
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
