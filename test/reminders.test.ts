/**
 * Reminders are durable timers: each is delivered once, at its compressed time, to the right
 * people, follows an extended due date, and stops when the step is done.
 */
import { call, startStack, type Stack } from './support/stack';
import { act, submit, openCall, pilotInProgress, registerPilot, waitUntil } from './support/pilots';
import { formatBeijing } from '../domain/time';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** Timers never fire early; on a busy two-core machine they may be a little late. */
const EARLY_MS = 250;
const LATE_MS = 2000;

function remindersAbout(pilotId: string, step: string, to?: string) {
  return stack.smtp.received.filter(
    (m) => m.text.includes(pilotId) && m.text.includes(`事项 Step: ${step}`) && (to === undefined || m.to.includes(to)),
  );
}

function expectAt(actual: number[], expected: number[]) {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((at, i) => {
    expect(at).toBeGreaterThanOrEqual(expected[i]! - EARLY_MS);
    expect(at).toBeLessThanOrEqual(expected[i]! + LATE_MS);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sleepUntil = (at: number) => sleep(Math.max(0, at - Date.now()));

const OFFICE = {
  name: '中国科协改革工作办公室',
  email: 'office@reform.test',
  contactName: '张明',
  phone: '010-68571234',
};

test('before the submission deadline, both contacts are reminded at each configured offset, once', async () => {
  const callId = await openCall(stack, { reminderBefore: ['4s', '2s'] }, 6, { office: OFFICE });
  const deadline = Date.parse(
    (await stack.db.call.findUniqueOrThrow({ where: { id: callId } })).submissionDeadline.toISOString(),
  );
  const pilotId = await registerPilot(stack, callId);

  await sleepUntil(deadline + 1500);
  const sent = remindersAbout(pilotId, '申报材料提交', 'head@zjkx.test');
  expectAt(
    sent.map((m) => m.receivedAt),
    [deadline - 4000, deadline - 2000],
  );
  expect(sent[0]!.to.sort()).toEqual([`head-${pilotId.split('.')[1]}@pilot.test`, 'head@zjkx.test'].sort());
  expect(sent[0]!.subject).toMatch(/^【提醒】申报材料提交截止/);
  expect(sent[0]!.text).toContain(formatBeijing(new Date(deadline)));
  expect(sent[0]!.text).toContain('逾期不予受理');
  // Every message ends with whom to contact at the office, as the call names it (SMTP ends lines with CRLF).
  expect(sent[0]!.text.replace(/\r\n/g, '\n')).toContain(
    '联系单位 Office: 中国科协改革工作办公室\n联系人 Contact person: 张明\n电话 Phone: 010-68571234\n' +
      '电子信箱 E-mail: office@reform.test\n',
  );
  const outbox = await stack.db.outboxMessage.findMany({ where: { pilotId } });
  expect(outbox).toHaveLength(2);
  expect(outbox.every((m) => m.status === 'sent' && m.attempts === 1)).toBe(true);
});

test('midterm report: a reminder before it is due, re-reminders while overdue, none once it is in', async () => {
  const callId = await openCall(stack, {
    midtermReportDueAfter: '5s',
    reminderBefore: ['3s'],
    overdueReminderEvery: '2s',
  });
  const { pilotId, state } = await pilotInProgress(stack, callId);
  const due = Date.parse(state.due.midtermReport!);
  expect(due - Date.parse(state.startedWorkAt!)).toBe(5000);

  await waitUntil(async () => remindersAbout(pilotId, '中期报告').length >= 3, 15_000, 'three reminders');
  await act(stack, pilotId, 'midterm-report', { reference: '中期报告.pdf' });
  const submittedAt = Date.now();
  await sleep(3000);

  const sent = remindersAbout(pilotId, '中期报告');
  expect(sent.every((m) => m.receivedAt < submittedAt)).toBe(true);
  expectAt(
    sent.map((m) => m.receivedAt),
    [due - 3000, due, due + 2000],
  );
  expect(sent.map((m) => /^【(提醒|已逾期)】中期报告/.exec(m.subject)?.[1])).toEqual(['提醒', '已逾期', '已逾期']);
  const keys = (await stack.db.outboxMessage.findMany({ where: { pilotId, key: { contains: 'midterm-report' } } })).map(
    (m) => m.key,
  );
  expect(new Set(keys).size).toBe(3);
});

test('an extension moves the due date, and the reminders follow the new date', async () => {
  const callId = await openCall(stack, {
    midtermReportDueAfter: '4s',
    reminderBefore: ['2s'],
    overdueReminderEvery: '1h',
  });
  const { pilotId } = await pilotInProgress(stack, callId);
  const newDue = new Date(Date.now() + 7000).toISOString();
  const extended = await act(stack, pilotId, 'extensions', {
    which: 'midterm-report',
    until: newDue,
    reason: '疫情影响，延期提交',
  });
  expect(extended.due.midtermReport).toBe(newDue);
  expect(extended.waitingFor).toEqual({ what: 'midterm-report', until: newDue });
  expect(extended.extensions).toEqual([
    expect.objectContaining({ which: 'midterm-report', reason: '疫情影响，延期提交', until: newDue }),
  ]);

  await sleepUntil(Date.parse(newDue) + 1000);
  const sent = remindersAbout(pilotId, '中期报告');
  expectAt(
    sent.map((m) => m.receivedAt),
    [Date.parse(newDue) - 2000, Date.parse(newDue)],
  );
  expect(sent[0]!.text).toContain(formatBeijing(newDue));

  const backwards = await call(stack, 'POST', `/pilots/${pilotId}/extensions`, {
    which: 'midterm-report',
    until: new Date(Date.now() - 1000).toISOString(),
    reason: '倒退',
  });
  expect(backwards.status).toBe(422);
  expect(backwards.body.code).toBe('EXTENSION_NOT_LATER');
  const notPending = await call(stack, 'POST', `/pilots/${pilotId}/extensions`, {
    which: 'acceptance',
    until: '2099-01-01',
    reason: '无',
  });
  expect(notPending.status).toBe(409);
  expect(notPending.body.code).toBe('NOTHING_TO_EXTEND');
});

test('an unconfirmed payment instruction is reminded to finance until confirmed, then no more', async () => {
  const callId = await openCall(stack, { financeConfirmationWithin: '2s', overdueReminderEvery: '2s' });
  const { pilotId, state } = await pilotInProgress(stack, callId);
  const issuedAt = Date.parse(state.tranches!.first.issuedAt!);

  await waitUntil(async () => remindersAbout(pilotId, '拨款执行确认').length >= 2, 15_000, 'two reminders');
  await act(stack, pilotId, 'tranches/first/confirmation', { reference: 'BANK-77' }, { as: 'finance' });
  const confirmedAt = Date.now();
  await sleep(3000);

  const sent = remindersAbout(pilotId, '拨款执行确认', 'finance@reform.test');
  expect(sent.every((m) => m.receivedAt < confirmedAt)).toBe(true);
  expectAt(
    sent.map((m) => m.receivedAt),
    [issuedAt + 2000, issuedAt + 4000],
  );
});

test('a review left waiting by staff is reminded to the office until decided', async () => {
  const callId = await openCall(stack, { reviewWithin: '2s', overdueReminderEvery: '2s' });
  const pilotId = await registerPilot(stack, callId);
  const submitted = await submit(stack, pilotId);
  const submittedAt = Date.parse(submitted.submission!.at);

  await waitUntil(async () => remindersAbout(pilotId, '专家评审结论').length >= 2, 15_000, 'two reminders');
  await act(stack, pilotId, 'expert-scores', { expert: { id: 'e1', province: '江苏' }, score: 80, comment: '可' });
  await act(stack, pilotId, 'review-decision', { outcome: 'rejected', reason: '不予立项' });
  const decidedAt = Date.now();
  await sleep(2500);

  const sent = remindersAbout(pilotId, '专家评审结论', 'office@reform.test');
  expect(sent.every((m) => m.receivedAt < decidedAt)).toBe(true);
  expectAt(
    sent.map((m) => m.receivedAt),
    [submittedAt + 2000, submittedAt + 4000],
  );
});
