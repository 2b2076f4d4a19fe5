/**
 * Every call the API makes into Temporal for pilots: start one, act on one through its Updates,
 * read its state. Errors come back as the problems a clerk understands (`temporal-errors.ts`).
 * Every call has a deadline (`API_TEMPORAL_TIMING`): a request never waits on Temporal longer
 * than that, and one made while Temporal is down gets 503 within about a second.
 */
import { provinceName } from '../domain/provinces';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { defaultPayloadConverter, type Payload, type PayloadCodec, type SearchAttributePair } from '@temporalio/common';
import { initialPilotState, type Acting, type PilotStart, type PilotState } from '../domain/pilot';
import { searchAttributesOf } from '../domain/search-attributes';
import { refusalOf, type StaffActionInput, type StaffActionName } from '../domain/staff-actions';
import { PILOT_WORKFLOW, pilotStateQuery, staffUpdates, type PilotWorkflow } from '../workflows/pilot/messages';
import { temporal } from '@temporalio/proto';
import { API_TEMPORAL_TIMING } from '../lib/temporal';
import { timeTemporal, type TemporalOperation } from './metrics';
import { Problem } from './problem';
import { problemFromTemporal } from './temporal-errors';

const proto = temporal.api;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * What a staff action came to: its answer, or, when the workflow accepted it but did not finish
 * within updateResultMs (its activities are slow, or Temporal went away after
 * accepting it), only that it was accepted. It will complete; the same request again (same
 * Idempotency-Key, hence the same update id) then answers with its result.
 */
export type Acted = { done: true; state: PilotState } | { done: false; updateId: string };

export class PilotWorkflows {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    /** The same codec the client's data converter uses, to read results back from history. */
    private readonly codec: PayloadCodec | null,
    private readonly updateResultMs: number = API_TEMPORAL_TIMING.updateResultMs,
  ) {}

  private handle(pilotId: string): WorkflowHandle<PilotWorkflow> {
    return this.client.workflow.getHandle<PilotWorkflow>(pilotId);
  }

  /** Every RPC inside `work` fails with DEADLINE_EXCEEDED once `ms` have passed; timed for /metrics. */
  private within<T>(operation: TemporalOperation, ms: number, work: () => Promise<T>): Promise<T> {
    return this.until(operation, Date.now() + ms, work);
  }

  private until<T>(operation: TemporalOperation, deadline: number, work: () => Promise<T>): Promise<T> {
    return timeTemporal(operation, () => this.client.withDeadline(deadline, work));
  }

  /** Runs a call into Temporal under the call deadline; what Temporal refuses becomes a problem (404, 409, 503 …). */
  private async temporal<T>(operation: TemporalOperation, work: () => Promise<T>): Promise<T> {
    try {
      return await this.within(operation, API_TEMPORAL_TIMING.callDeadlineMs, work);
    } catch (error) {
      throw problemFromTemporal(error) ?? error;
    }
  }

  /** The pilot's live state, from its workflow. */
  state(pilotId: string): Promise<PilotState> {
    return this.temporal('query', () => this.handle(pilotId).query(pilotStateQuery));
  }

  /** 404 unless the pilot's workflow exists. */
  async exists(pilotId: string): Promise<void> {
    await this.temporal('describe', () => this.handle(pilotId).describe());
  }

  /**
   * The pilot a registration with this Idempotency-Key created, if any: its repeat answers as the
   * first request did, with the state the workflow started in.
   */
  async registeredWithKey(pilotId: string, key: string): Promise<PilotState | null> {
    try {
      const { memo } = await this.within('describe', API_TEMPORAL_TIMING.callDeadlineMs, () =>
        this.handle(pilotId).describe(),
      );
      return memo?.idempotencyKey === key ? await this.startedState(pilotId) : null;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return null;
      throw problemFromTemporal(error) ?? error;
    }
  }

  /**
   * Starts the pilot's workflow, with what auditors see first in the Web UI: no personal data,
   * only units and the call. A repeat with the same key gets the pilot it created; another
   * registration of the same unit under the call is refused.
   */
  async register(registered: PilotStart, idempotencyKey: string): Promise<PilotState> {
    // The answer is the state the workflow starts in, computed from the same input: the request
    // does not wait for the workflow's first task.
    const registeredAt = new Date().toISOString();
    const start = { ...registered, registeredAt };
    const { pilotId, registration, call, registeredBy } = start;
    const initial = initialPilotState(start, registeredAt);
    const first = searchAttributesOf(initial).filter((pair): pair is SearchAttributePair => pair.value !== null);
    try {
      // A start that runs out of time may still have happened: the repeat (same key) finds it by its memo.
      await this.within('start', API_TEMPORAL_TIMING.callDeadlineMs, () =>
        this.client.workflow.start<PilotWorkflow>(PILOT_WORKFLOW, {
          taskQueue: this.taskQueue,
          workflowId: pilotId,
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          memo: { idempotencyKey },
          staticSummary: `${registration.pilotUnit.name}（${provinceName(registration.province)}）· ${call.name}`,
          staticDetails: [
            `**试点 pilot** ${pilotId}`,
            `**试点单位 pilot unit** ${registration.pilotUnit.name}`,
            `**申报单位 applicant unit** ${registration.applicantUnit.name}`,
            `**申报通知 call** ${call.name} (${call.id})`,
            `**登记 registered by** ${registeredBy.id} (${registeredBy.role})`,
          ].join('\n\n'),
          typedSearchAttributes: first,
          args: [start],
        }),
      );
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw problemFromTemporal(error) ?? error;
      const { memo } = await this.temporal('describe', () => this.handle(pilotId).describe());
      if (memo?.idempotencyKey !== idempotencyKey) throw new Problem('PILOT_ALREADY_REGISTERED');
      return this.startedState(pilotId);
    }
    return initial;
  }

  /** The state a pilot's workflow started in, from its first event (what its registration answered). */
  private async startedState(pilotId: string): Promise<PilotState> {
    const { history } = await this.temporal('fetch_history', () =>
      this.client.workflowService.getWorkflowExecutionHistory({
        namespace: this.client.options.namespace,
        execution: { workflowId: pilotId },
        maximumPageSize: 1,
      }),
    );
    const start = await this.startOf(history?.events ?? []);
    if (!start) throw new Problem('PILOT_NOT_FOUND');
    // Histories started before the API sent `registeredAt` answer with the live state.
    return start.registeredAt ? initialPilotState(start, start.registeredAt) : this.state(pilotId);
  }

  /**
   * A staff action, as an Update: the workflow's validator refuses what the rules forbid
   * (synchronously, leaving no event in history) and the answer is the pilot's new state. The
   * Idempotency-Key becomes the update id, so Temporal answers a repeat with the first result,
   * and after the workflow has ended the first result is read back from its history.
   *
   * Deadlines and an Update's meaning: the Update is sent once, and Temporal answers when the
   * workflow has completed it (one round trip). If the answer does not come within
   * updateResultMs, Temporal is asked briefly whether it has accepted the Update (its validator
   * passed): if so, the action will happen whatever becomes of this request, and the answer says
   * it was accepted (202); the repeat with the same key fetches the result. Otherwise, or when
   * Temporal is away, it is a 503 that says nothing happened *as far as we know*: it may still be
   * accepted, and the client's repeat with the same key is then answered with that same Update's
   * result, never a second action.
   */
  async act<N extends StaffActionName>(
    pilotId: string,
    name: N,
    input: Acting<StaffActionInput<N>>,
    idempotencyKey: string,
  ): Promise<Acted> {
    const handle = this.handle(pilotId);
    const updateId = `${name}:${idempotencyKey}`;
    // Every decision's payload names who asked, in which role, and when.
    const request = { ...input, requestedAt: new Date().toISOString() };
    const until = Date.now() + this.updateResultMs;
    try {
      const state = await this.until('update', until, () =>
        handle.executeUpdate(staffUpdates[name], { args: [request], updateId }),
      );
      return { done: true, state };
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) {
        // Out of time with Temporal up: accepted means 202. Temporal down (UNAVAILABLE) is a 503 at once.
        if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError && (await this.accepted(pilotId, updateId))) {
          return { done: false, updateId };
        }
        throw problemFromTemporal(error) ?? error;
      }
      await this.exists(pilotId);
      // The workflow has ended: a repeat gets the first answer from history; anything else gets
      // the refusal the ended pilot's rules give (e.g. a confirmation of a voided instruction).
      const history = await this.temporal('fetch_history', () => handle.fetchHistory());
      const earlier = await this.updateResult(history.events ?? [], updateId);
      if (earlier) return { done: true, state: earlier };
      const [state, start] = await Promise.all([this.state(pilotId), this.startOf(history.events ?? [])]);
      const refusal = start ? refusalOf(name, state, start.call, input, Date.now()) : null;
      throw refusal ? new Problem(refusal.code, refusal.detail) : new Problem('PILOT_ENDED', state.phase);
    }
  }

  /** Whether Temporal holds the Update as accepted (or completed); false when it cannot say within a second. */
  private async accepted(pilotId: string, updateId: string): Promise<boolean> {
    const stages = proto.enums.v1.UpdateWorkflowExecutionLifecycleStage;
    const ACCEPTED = stages.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED;
    const COMPLETED = stages.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED;
    try {
      const { stage, outcome } = await this.within('update_result', API_TEMPORAL_TIMING.readinessMs, () =>
        this.client.workflowService.pollWorkflowExecutionUpdate({
          namespace: this.client.options.namespace,
          updateRef: { workflowExecution: { workflowId: pilotId }, updateId },
          identity: this.client.options.identity,
          waitPolicy: { lifecycleStage: ACCEPTED },
        }),
      );
      // A refused Update is reported COMPLETED with a failure: that is no acceptance.
      return stage === ACCEPTED || (stage === COMPLETED && !!outcome?.success);
    } catch {
      return false;
    }
  }

  /** The result an Update gave, read back from history. */
  private async updateResult(events: HistoryEvent[], updateId: string): Promise<PilotState | null> {
    for (const event of events) {
      const completed = event.workflowExecutionUpdateCompletedEventAttributes;
      if (completed?.meta?.updateId === updateId && completed.outcome?.success) {
        const [payload] = completed.outcome.success.payloads ?? [];
        return payload ? this.decode<PilotState>(payload as Payload) : null;
      }
    }
    return null;
  }

  /** What the pilot's workflow started with (its call snapshot), from the first event. */
  private async startOf(events: HistoryEvent[]): Promise<PilotStart | null> {
    const [payload] = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    return payload ? this.decode<PilotStart>(payload as Payload) : null;
  }

  private async decode<T>(payload: Payload): Promise<T> {
    const [decoded] = this.codec ? await this.codec.decode([payload]) : [payload];
    return defaultPayloadConverter.fromPayload<T>(decoded!);
  }
}
