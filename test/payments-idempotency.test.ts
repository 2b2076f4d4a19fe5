/**
 * Money is paid exactly once: the activities that write payment instructions and send notices
 * are safe to retry (Temporal retries them after a crash or a timeout), run here directly against
 * the real database and SMTP server, as a retry would run them.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Logger } from '@temporalio/common';
import { createActivities } from '../activities';
import { messageIdFor } from '../lib/mailer';
import { startStack, type Stack } from './support/stack';
import { openCall, pilotInProgress, waitUntil } from './support/pilots';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const silent = () => undefined;
const logger: Logger = { log: silent, trace: silent, debug: silent, info: silent, warn: silent, error: silent };
const environment = (info: { attempt?: number } = {}) => new MockActivityEnvironment(info, { logger });

function activities() {
  return { ...createActivities({ db: stack.db }), close: () => undefined };
}

test('a retried payment instruction activity leaves exactly one ledger row, and never a different amount', async () => {
  const callId = await openCall(stack);
  const { pilotId, state } = await pilotInProgress(stack, callId);
  const { issuePaymentInstruction, close } = activities();
  const env = environment({ attempt: 2 });
  const instruction = { pilotId, callId, tranche: 'first' as const, amountFen: state.tranches!.first.amountFen };

  const first = await env.run(issuePaymentInstruction, instruction);
  const second = await env.run(issuePaymentInstruction, instruction);
  expect(second).toEqual(first);
  expect(await stack.db.ledgerEntry.count({ where: { pilotId } })).toBe(1);

  await expect(
    env.run(issuePaymentInstruction, { ...instruction, amountFen: instruction.amountFen + 1 }),
  ).rejects.toMatchObject({
    type: 'LEDGER_CONFLICT',
    nonRetryable: true,
  });
  close();
});

test('a tranche that was withheld can never be instructed afterwards', async () => {
  const callId = await openCall(stack);
  const { pilotId, state } = await pilotInProgress(stack, callId);
  const { withholdTranche, issuePaymentInstruction, close } = activities();
  const env = environment();
  const amountFen = state.tranches!.tail.amountFen;
  await env.run(withholdTranche, { pilotId, tranche: 'tail' as const, amountFen, reason: '中期评审未通过' });
  await env.run(withholdTranche, { pilotId, tranche: 'tail' as const, amountFen, reason: '中期评审未通过' });
  await expect(
    env.run(issuePaymentInstruction, { pilotId, callId, tranche: 'tail' as const, amountFen }),
  ).rejects.toMatchObject({
    type: 'LEDGER_CONFLICT',
  });
  expect(await stack.db.ledgerEntry.findMany({ where: { pilotId, tranche: 'tail' } })).toEqual([
    expect.objectContaining({ kind: 'withholding', status: 'withheld' }),
  ]);
  close();
});

test('a retried notice is queued once per key, and the outbox relay delivers it once', async () => {
  const callId = await openCall(stack);
  const { pilotId } = await pilotInProgress(stack, callId);
  const { sendNotice, close } = activities();
  const env = environment();
  const notice = {
    key: `${pilotId}:test-notice`,
    pilotId,
    pilotName: '测试市科协',
    callName: '测试申报通知',
    to: ['someone@pilot.test'],
    content: {
      template: 'reminder' as const,
      step: 'midterm-report' as const,
      dueAt: new Date().toISOString(),
      when: 'before' as const,
    },
  };
  expect(await env.run(sendNotice, notice)).toBe('queued');
  expect(await env.run(sendNotice, notice)).toBe('already-queued');
  await waitUntil(
    async () => (await stack.db.outboxMessage.findUniqueOrThrow({ where: { key: notice.key } })).status === 'sent',
    10_000,
    'the relay to deliver the notice',
  );
  const received = stack.smtp.received.filter((m) => m.to.includes('someone@pilot.test'));
  expect(received).toHaveLength(1);
  const messageId = messageIdFor(notice.key, 'reform-office@test.invalid');
  expect(received[0]!.raw).toContain(`Message-ID: ${messageId}`);
  expect(await stack.db.outboxMessage.findUniqueOrThrow({ where: { key: notice.key } })).toMatchObject({
    status: 'sent',
    attempts: 1,
    messageId,
    recipients: ['someone@pilot.test'],
  });
  close();
});
