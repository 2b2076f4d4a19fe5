/**
 * Drives bare lifecycles straight through @temporalio/client: start, then one executeUpdate per
 * staff action, as the product's API does for each request, without HTTP or a database.
 */
import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import {
  BARE_WORKFLOW,
  bareConfirmTranche,
  bareDecideAcceptance,
  bareDecideReview,
  bareEvaluateMidterm,
  bareRecordExpertScore,
  bareStateQuery,
  bareSubmit,
  bareSubmitFinalReport,
  bareSubmitMidtermReport,
  type BareStart,
  type BareState,
} from './messages';

export type BareHandle = WorkflowHandle<(start: BareStart) => Promise<BareState>>;

/** Registration: the workflow started, as POST /pilots starts the product's. */
export async function startBare(client: Client, taskQueue: string, publicNoticeMs: number): Promise<BareHandle> {
  return client.workflow.start<(start: BareStart) => Promise<BareState>>(BARE_WORKFLOW, {
    taskQueue,
    workflowId: `bare-${randomUUID()}`,
    args: [{ publicNoticeMs }],
  });
}

const id = () => ({ updateId: randomUUID() });

export async function submitBare(handle: BareHandle): Promise<BareState> {
  return handle.executeUpdate(bareSubmit, { args: [{ reference: '申报书.pdf' }], ...id() });
}

/** Polls the state query every 100 ms, as the product's lifecycle polls GET /pilots/:id. */
export async function waitForBarePhase(handle: BareHandle, phase: BareState['phase'], timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await handle.query(bareStateQuery);
    if (state.phase === phase) return state;
    if (Date.now() > deadline) throw new Error(`${handle.workflowId}: phase ${phase} not reached (${state.phase})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The rest of the common path after registration and submission, to closed; resolves once the workflow has completed. */
export async function completeBare(handle: BareHandle): Promise<BareState> {
  await handle.executeUpdate(bareRecordExpertScore, { args: [{ expertId: 'e1', score: 90 }], ...id() });
  await handle.executeUpdate(bareDecideReview, { args: [{ outcome: 'approved', amountFen: 350_000_00 }], ...id() });
  await waitForBarePhase(handle, 'in_progress');
  await handle.executeUpdate(bareConfirmTranche, { args: [{ tranche: 'first', reference: 'BANK-1' }], ...id() });
  await handle.executeUpdate(bareSubmitMidtermReport, { args: [{ reference: '中期报告.pdf' }], ...id() });
  await handle.executeUpdate(bareEvaluateMidterm, { args: [{ outcome: 'passed' }], ...id() });
  await handle.executeUpdate(bareConfirmTranche, { args: [{ tranche: 'tail', reference: 'BANK-2' }], ...id() });
  await handle.executeUpdate(bareSubmitFinalReport, { args: [{ reference: '地方科协改革试点报告.pdf' }], ...id() });
  const closed = await handle.executeUpdate(bareDecideAcceptance, { args: [{ outcome: 'passed' }], ...id() });
  if (closed.phase !== 'closed') throw new Error(`${handle.workflowId}: ${closed.phase} after acceptance`);
  await handle.result();
  return closed;
}
