/**
 * What the pilot workflow does to the world, holding the pilot's state: record a step, notify
 * people, wait with reminders, publish what auditors filter by; its money in `money.ts`.
 * Every side effect is an activity; everything here is deterministic workflow code.
 */
import { setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Call } from '../../domain/call';
import { toMs, type DurationText } from '../../domain/duration';
import type { Notice, NoticeContent } from '../../domain/notice';
import { ENDED_PHASES, type Actor, type Done, type PilotState } from '../../domain/pilot-state';
import { searchAttributesOf } from '../../domain/search-attributes';
import { formatBeijing } from '../../domain/time';
import {
  activities,
  DATABASE_WRITE,
  LOCAL_DATABASE_WRITE,
  LOCAL_WRITES,
  localActivities,
  type ActivityInput,
  type ActivityName,
  type ActivityResult,
} from './proxies';
import { PilotEnded, Settling } from './blocking';
import { Money } from './money';
import { waitWithReminders, type Waiting } from './waiting';

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
  /**
   * Slim histories (patch 'slim-history'): the pilot's records are local activities (their inputs
   * stay out of history) and the form is kept by its hash.
   */
  slim: boolean;
  /**
   * The notice as written (patch 'notice-as-written'): lateness judged by arrival, an entry period
   * after the deadline, and a new review round, with its own expert scores, after an objection.
   */
  asWritten: boolean;
}

export class PilotEffects extends Settling {
  /** The pilot's money: tranches, the ledger, finance's part. */
  readonly money: Money = new Money(this);
  /** The search attribute values last upserted (JSON of each), in `searchAttributesOf` order. */
  private published: string[] = [];

  constructor(
    readonly state: PilotState,
    readonly call: Call,
    /** E-mail addresses of the pilot's contacts from its registration (personal data). */
    readonly pilotContacts: string[],
    readonly rules: Rules,
  ) {
    super();
    // What the workflow started with (the API sets them at start): not upserted again.
    if (rules.slim) {
      const { typedSearchAttributes } = workflowInfo();
      this.published = searchAttributesOf(state).map(({ key }) =>
        JSON.stringify(typedSearchAttributes.get(key) ?? null),
      );
    }
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
    const values = attributes.map((a) => JSON.stringify(a.value));
    if (values.join('\u0000') === this.published.join('\u0000')) return;
    // Since patch 'slim-history' only the attributes that changed (the workflow started with all).
    const changed = this.rules.slim ? attributes.filter((_, i) => values[i] !== this.published[i]) : attributes;
    this.published = values;
    upsertSearchAttributes(changed);
  }

  /** Runs one database write (an activity), with its summary for the Web UI. */
  write<K extends ActivityName>(name: K, summary: string, input: ActivityInput<K>): Promise<ActivityResult<K>> {
    const local = this.rules.slim && LOCAL_WRITES.includes(name);
    const run = (local ? localActivities[name] : activities[name]) as {
      executeWithOptions(options: object, args: [ActivityInput<K>]): Promise<ActivityResult<K>>;
    };
    const options = local ? LOCAL_DATABASE_WRITE : DATABASE_WRITE;
    return run.executeWithOptions({ ...options, ...this.summary(summary) }, [input]);
  }

  /** Records a step; `who` is the decision (with its actor and update id) or the acting user. */
  async record(step: string, who?: Actor | Done, reason?: string): Promise<void> {
    const { state } = this;
    state.version += 1;
    state.updatedAt = this.now();
    this.publish();
    const actor = who && 'by' in who ? who.by : who;
    const updateId = who && 'by' in who ? who.updateId : undefined;
    await this.write('recordPilotStep', `记录 record: ${step}`, { step, state, actor, reason, updateId });
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
    return this.write('sendNotice', `通知 notice: ${key}`, this.notice(key, to, content));
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

  /** 弄虚作假: the flag stays on the unit's record, whatever becomes of this pilot. */
  flagUnitIntegrity(reason: string, done: Done): Promise<unknown> {
    const { state } = this;
    return this.write('flagUnitIntegrity', '弄虚作假记入单位档案 integrity flag on the unit’s record', {
      pilotId: state.pilotId,
      pilotUnitCode: state.pilotUnit.code,
      reason,
      flaggedBy: done.by,
      at: done.at,
    });
  }
}
