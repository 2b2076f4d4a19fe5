/**
 * The main paths of a pilot, driven through the HTTP API. `npm run record:histories` runs them
 * and commits their histories as replay fixtures.
 */
import {
  act,
  approvedPilot,
  FINAL_REPORT,
  finance,
  live,
  openCall,
  pilotInProgress,
  registerPilot,
  submit,
  waitForPhase,
} from './pilots';
import type { Stack } from './stack';

/**
 * Bumped when the workflow's logic changes: fixtures of every generation keep replaying.
 * g1: before search attributes and summaries (replays through patched('search-attributes-and-summaries')).
 * g2: with them, and with payloads encrypted by the test codec keys.
 * g3: money under faults (patched('ledger-first-outbox')): ledger before state, notices queued in
 *     the ledger's transaction, void and reclaim, open instructions announced at an early end.
 * g4: slim histories (patched('slim-history')).
 * g5: the notice as written (patched('notice-as-written')): arrival times, the entry period after
 *     the deadline, review rounds after an objection.
 */
export const FIXTURE_GENERATION = 'g5';

type Scenario = (stack: Stack) => Promise<string>;

async function toFinalReport(stack: Stack, timing: Record<string, unknown>, midterm: 'passed' | 'failed') {
  const callId = await openCall(stack, timing);
  const { pilotId } = await pilotInProgress(stack, callId);
  await act(stack, pilotId, 'tranches/first/confirmation', { reference: 'BANK-1' }, finance);
  await act(stack, pilotId, 'midterm-report', { reference: '中期报告.pdf' });
  await act(stack, pilotId, 'midterm-evaluation', { outcome: midterm, reason: midterm === 'passed' ? '良好' : '滞后' });
  if (midterm === 'passed') await act(stack, pilotId, 'tranches/tail/confirmation', { reference: 'BANK-2' }, finance);
  await act(stack, pilotId, 'final-report', FINAL_REPORT);
  return pilotId;
}

export const scenarios: Record<string, Scenario> = {
  closed: async (stack) => {
    const pilotId = await toFinalReport(stack, {}, 'passed');
    await act(stack, pilotId, 'acceptance', { outcome: 'passed', reason: '验收通过' });
    return pilotId;
  },
  'tail-withheld-closed': async (stack) => {
    const pilotId = await toFinalReport(stack, {}, 'failed');
    await act(stack, pilotId, 'acceptance', { outcome: 'passed', reason: '验收通过' });
    return pilotId;
  },
  'not-closed': async (stack) => {
    const pilotId = await toFinalReport(stack, {}, 'passed');
    await act(stack, pilotId, 'acceptance', { outcome: 'failed', reason: '不达标' });
    return pilotId;
  },
  'rectified-closed': async (stack) => {
    const pilotId = await toFinalReport(stack, { rectificationRounds: 1 }, 'passed');
    await act(stack, pilotId, 'acceptance', { outcome: 'failed', reason: '需整改' });
    await act(stack, pilotId, 'rectification', { reference: '整改报告.pdf' });
    await act(stack, pilotId, 'acceptance', { outcome: 'passed', reason: '整改到位' });
    return pilotId;
  },
  'objection-withdrawn': async (stack) => {
    const callId = await openCall(stack, { publicNoticePeriod: '3s' });
    const pilotId = await approvedPilot(stack, callId);
    await act(stack, pilotId, 'objections', { reason: '异议' });
    // From g5 on, the new review round needs its own scores.
    await act(stack, pilotId, 'expert-scores', {
      expert: { id: 'expert-1', province: '江苏' },
      score: 85,
      comment: '复核',
    });
    await act(stack, pilotId, 'review-decision', { outcome: 'approved', amountFen: 300_000_00, reason: '复核通过' });
    await waitForPhase(stack, pilotId, 'in_progress');
    await act(stack, pilotId, 'withdrawal', { reason: '主动退出' });
    await act(stack, pilotId, 'tranches/first/confirmation', { reference: 'BANK-1' }, finance);
    return pilotId;
  },
  'reminded-extended-integrity': async (stack) => {
    const callId = await openCall(stack, {
      midtermReportDueAfter: '3s',
      reminderBefore: ['2s'],
      overdueReminderEvery: '1s',
      financeConfirmationWithin: '1s',
    });
    const { pilotId } = await pilotInProgress(stack, callId);
    await new Promise((r) => setTimeout(r, 3500));
    await act(stack, pilotId, 'extensions', {
      which: 'midterm-report',
      until: new Date(Date.now() + 60_000).toISOString(),
      reason: '延期',
    });
    await act(stack, pilotId, 'integrity-flag', { reason: '弄虚作假' });
    await act(stack, pilotId, 'tranches/first/confirmation', { reference: 'BANK-1' }, finance);
    // From g3 on, money paid to a pilot that submitted false material is reclaimed (追回).
    if ((await live(stack, pilotId)).tranches?.first.reclaim) {
      await act(stack, pilotId, 'tranches/first/reclaim', { reference: 'REPAID-1' }, finance);
    }
    return pilotId;
  },
  'withdrawn-voided': async (stack) => {
    const { pilotId } = await pilotInProgress(stack, await openCall(stack));
    await act(stack, pilotId, 'withdrawal', { reason: '主动退出' });
    await act(stack, pilotId, 'tranches/first/void', { reason: '指令未执行' }, finance);
    return pilotId;
  },
  rejected: async (stack) => {
    const callId = await openCall(stack);
    const pilotId = await registerPilot(stack, callId);
    await submit(stack, pilotId);
    await act(stack, pilotId, 'expert-scores', { expert: { id: 'e1', province: '江苏' }, score: 50, comment: '一般' });
    await act(stack, pilotId, 'review-decision', { outcome: 'rejected', reason: '方案不具体' });
    return pilotId;
  },
  // g5: received by e-mail at 23:59 on the deadline day, keyed in after the deadline within the entry period.
  'entered-after-deadline': async (stack) => {
    const callId = await openCall(stack, { entryPeriod: '30s' }, 2);
    const pilotId = await registerPilot(stack, callId);
    const { submissionDeadline } = await live(stack, pilotId);
    await new Promise((r) => setTimeout(r, Date.parse(submissionDeadline) - Date.now() + 300));
    await submit(stack, pilotId, undefined, new Date(Date.parse(submissionDeadline) - 60_000).toISOString());
    await act(stack, pilotId, 'expert-scores', { expert: { id: 'e1', province: '江苏' }, score: 50, comment: '一般' });
    await act(stack, pilotId, 'review-decision', { outcome: 'rejected', reason: '方案不具体' });
    return pilotId;
  },
  expired: async (stack) => registerPilot(stack, await openCall(stack, { reminderBefore: ['1s'] }, 2)),
};
