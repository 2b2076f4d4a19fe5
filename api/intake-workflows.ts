/**
 * The API's calls into the e-mail intake workflows: start a call's intake (idempotent) and poll
 * now. Every call has a deadline (`API_TEMPORAL_TIMING`), as for pilots.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import type { Call } from '../domain/call';
import { API_TEMPORAL_TIMING } from '../lib/temporal';
import {
  INTAKE_WORKFLOW,
  intakeWorkflowId,
  pollNowUpdate,
  type IntakeState,
  type IntakeWorkflow,
} from '../workflows/intake/messages';
import { timeTemporal, type TemporalOperation } from './metrics';
import { Problem } from './problem';
import { problemFromTemporal } from './temporal-errors';

/** running: started now or already; ended: it read until its end; off: no intake for this call here. */
export type IntakeStarted = 'running' | 'ended' | 'off';
export type PolledNow = { done: true; state: IntakeState } | { done: false };

export class IntakeWorkflows {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    /** Whether this deployment reads e-mail (IMAP configured); otherwise no intake is started. */
    private readonly enabled: boolean,
    private readonly updateResultMs: number = API_TEMPORAL_TIMING.updateResultMs,
  ) {}

  private within<T>(operation: TemporalOperation, ms: number, work: () => Promise<T>): Promise<T> {
    return timeTemporal(operation, () => this.client.withDeadline(Date.now() + ms, work));
  }

  /**
   * Starts the call's intake unless it is running or has ended ("an already-running intake is
   * fine"); one that failed or was terminated is started again. Nothing for a call without
   * `intake` or a deployment without IMAP.
   */
  async ensure(call: Call): Promise<IntakeStarted> {
    if (!this.enabled || !call.intake) return 'off';
    const workflowId = intakeWorkflowId(call.id);
    try {
      await this.within('start', API_TEMPORAL_TIMING.callDeadlineMs, () =>
        this.client.workflow.start<IntakeWorkflow>(INTAKE_WORKFLOW, {
          taskQueue: this.taskQueue,
          workflowId,
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
          staticSummary: `申报邮件接收 e-mail intake · ${call.name}`,
          staticDetails: [
            `**申报通知 call** ${call.name} (${call.id})`,
            `**邮箱文件夹 folder** ${call.intake!.folder}, every ${call.intake!.pollEvery}`,
          ].join('\n\n'),
          args: [
            {
              callId: call.id,
              folder: call.intake!.folder,
              pollEvery: call.intake!.pollEvery,
              submissionDeadline: call.submissionDeadline,
              entryPeriod: call.timing.entryPeriod,
            },
          ],
        }),
      );
      return 'running';
    } catch (error) {
      // Completed: the deadline and the entry period are over.
      if (error instanceof WorkflowExecutionAlreadyStartedError) return 'ended';
      throw problemFromTemporal(error) ?? error;
    }
  }

  /**
   * Polls the call's folder now (starting its intake if it is not running). The Idempotency-Key
   * is the update id: a repeat while the same run lives is answered with the first poll. The
   * answer waits for the poll; a long one answers `done: false` (it goes on).
   */
  async pollNow(call: Call, idempotencyKey: string): Promise<PolledNow> {
    if (!this.enabled || !call.intake) {
      throw new Problem('INTAKE_NOT_CONFIGURED', this.enabled ? call.id : 'IMAP_HOST');
    }
    if ((await this.ensure(call)) === 'ended') throw new Problem('INTAKE_ENDED');
    const handle = this.client.workflow.getHandle<IntakeWorkflow>(intakeWorkflowId(call.id));
    try {
      const state = await this.within('update', this.updateResultMs, () =>
        handle.executeUpdate(pollNowUpdate, { updateId: `pollNow:${idempotencyKey}` }),
      );
      return { done: true, state };
    } catch (error) {
      if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return { done: false };
      if (error instanceof WorkflowNotFoundError) throw new Problem('INTAKE_ENDED');
      throw problemFromTemporal(error) ?? error;
    }
  }
}
