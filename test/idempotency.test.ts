/**
 * Every write, sent twice with the same Idempotency-Key, is applied once: the repeat answers with
 * the first result and leaves the workflow history and the database as they were.
 */
import { randomUUID } from 'node:crypto';
import { pdfBytes, submissionBody, validForm } from './support/application';
import { quietHistory } from './support/history';
import { FINAL_REPORT, waitForPhase } from './support/pilots';
import {
  call,
  compressedCall,
  registration,
  startStack,
  uniqueId,
  type RequestOptions,
  type Stack,
} from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** Sends the write twice with one key; both answers must be identical, and history unchanged. */
async function twice(path: string, body: () => unknown, options: RequestOptions = {}, pilotId?: string) {
  const key = randomUUID();
  const first = await call(stack, 'POST', path, body(), { ...options, idempotencyKey: key });
  expect([path, first.status]).toEqual([path, first.status < 300 ? first.status : 'a success']);
  const before = pilotId ? (await quietHistory(stack.client, pilotId)).eventCount : 0;
  const second = await call(stack, 'POST', path, body(), { ...options, idempotencyKey: key });
  expect([path, second.status]).toEqual([path, first.status]);
  expect(second.body).toEqual(first.body);
  if (pilotId) expect([path, (await quietHistory(stack.client, pilotId)).eventCount]).toEqual([path, before]);
  return first.body as Record<string, unknown>;
}

test('each write of a pilot’s whole life, repeated with its key, is applied once', async () => {
  const callId = uniqueId('call');
  const callBody = compressedCall(callId, 120, { publicNoticePeriod: '3s', rectificationRounds: 1 });
  await twice('/calls', () => callBody);
  expect(await stack.db.call.count({ where: { id: callId } })).toBe(1);
  const otherKey = await call(stack, 'POST', '/calls', callBody);
  expect([otherKey.status, otherKey.body.code]).toEqual([409, 'CALL_ALREADY_EXISTS']);

  const unit = uniqueId('unit');
  const registered = await twice('/pilots', () => registration(callId, unit));
  const pilotId = registered.pilotId as string;
  const again = await call(stack, 'POST', '/pilots', registration(callId, unit));
  expect([again.status, again.body.code]).toEqual([409, 'PILOT_ALREADY_REGISTERED']);
  const p = `/pilots/${pilotId}`;

  const form = validForm(`${unit} 市科协`);
  await twice(`${p}/submission`, () => submissionBody(form, pdfBytes()), {}, pilotId);
  await twice(
    `${p}/expert-scores`,
    () => ({ expert: { id: 'e1', province: '江苏' }, score: 90, comment: '好' }),
    {},
    pilotId,
  );
  await twice(
    `${p}/review-decision`,
    () => ({ outcome: 'approved', amountFen: 350_000_00, reason: '通过' }),
    {},
    pilotId,
  );
  await twice(`${p}/objections`, () => ({ reason: '有异议' }), {}, pilotId);
  // The objection opens a new review round, which needs its own scores.
  await twice(
    `${p}/expert-scores`,
    () => ({ expert: { id: 'e1', province: '江苏' }, score: 85, comment: '复核' }),
    {},
    pilotId,
  );
  await twice(
    `${p}/review-decision`,
    () => ({ outcome: 'approved', amountFen: 340_000_00, reason: '复核通过' }),
    {},
    pilotId,
  );
  await waitForPhase(stack, pilotId, 'in_progress');
  await twice(`${p}/tranches/first/confirmation`, () => ({ reference: 'BANK-1' }), { as: 'finance' }, pilotId);
  await twice(`${p}/extensions`, () => ({ which: 'midterm-report', until: '2099-01-01', reason: '延期' }), {}, pilotId);
  await twice(`${p}/midterm-report`, () => ({ reference: '中期报告.pdf' }), {}, pilotId);
  await twice(`${p}/midterm-evaluation`, () => ({ outcome: 'passed', reason: '良好' }), {}, pilotId);
  await twice(`${p}/tranches/tail/confirmation`, () => ({ reference: 'BANK-2' }), { as: 'finance' }, pilotId);
  await twice(`${p}/final-report`, () => FINAL_REPORT, {}, pilotId);
  await twice(`${p}/acceptance`, () => ({ outcome: 'failed', reason: '需整改' }), {}, pilotId);
  await twice(`${p}/rectification`, () => ({ reference: '整改报告.pdf' }), {}, pilotId);

  // The closing decision ends the workflow; its repeat is answered from the history.
  const key = randomUUID();
  const closing = await call(
    stack,
    'POST',
    `${p}/acceptance`,
    { outcome: 'passed', reason: '通过' },
    { idempotencyKey: key },
  );
  expect(closing.status).toBe(200);
  await stack.client.workflow.getHandle(pilotId).result();
  const repeat = await call(
    stack,
    'POST',
    `${p}/acceptance`,
    { outcome: 'passed', reason: '通过' },
    { idempotencyKey: key },
  );
  expect(repeat.status).toBe(200);
  expect(repeat.body).toEqual(closing.body);

  await twice(`${p}/publicity`, () => ({ note: '宣传' }));
  expect(await stack.db.auditEvent.count({ where: { pilotId, step: { startsWith: 'publicity:' } } })).toBe(1);
  expect(await stack.db.ledgerEntry.count({ where: { pilotId } })).toBe(2);
});

test('withdrawal and the integrity flag, repeated with their keys, are applied once', async () => {
  const callId = uniqueId('call');
  await call(stack, 'POST', '/calls', compressedCall(callId, 120));
  for (const [path, body] of [
    ['withdrawal', { reason: '退出' }],
    ['integrity-flag', { reason: '弄虚作假' }],
  ] as const) {
    const registered = await call<{ pilotId: string }>(
      stack,
      'POST',
      '/pilots',
      registration(callId, uniqueId('unit')),
    );
    const pilotId = registered.body.pilotId;
    await quietHistory(stack.client, pilotId);
    await twice(`/pilots/${pilotId}/${path}`, () => body, {}, pilotId);
  }
  expect(await stack.db.unitIntegrityFlag.count({ where: { pilotId: { startsWith: callId } } })).toBe(1);
});
