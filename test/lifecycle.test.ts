/**
 * The rules of the notice, one test each, through the HTTP API on the real stack (Temporal,
 * PostgreSQL, SMTP) with compressed timelines.
 */
import { call, startStack, type Stack } from './support/stack';
import {
  act,
  approvedPilot,
  FINAL_REPORT,
  finance,
  ledgerOf,
  live,
  mailsTo,
  openCall,
  pilotInProgress,
  waitForPhase,
  waitUntil,
} from './support/pilots';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const result = (pilotId: string) => stack.client.workflow.getHandle(pilotId).result();

test('full happy path: both tranches instructed and confirmed, midterm passed, acceptance passed → closed', async () => {
  const callId = await openCall(stack);
  // 350,000.01 CNY: the first tranche rounds down to the fen, the tail takes the remainder.
  const { pilotId, state } = await pilotInProgress(stack, callId, 350_000_01);
  expect(state.approvedAmountFen).toBe(350_000_01);
  expect(state.tranches).toMatchObject({
    first: { amountFen: 175_000_00, status: 'issued' },
    tail: { amountFen: 175_000_01, status: 'pending' },
  });
  expect(state.due.midtermReport).not.toBeNull();
  expect(await ledgerOf(stack, pilotId)).toEqual([
    expect.objectContaining({ tranche: 'first', kind: 'instruction', amountFen: 175_000_00, status: 'issued' }),
  ]);
  await waitUntil(async () =>
    mailsTo(stack, 'finance@reform.test', pilotId).some((m) => m.subject.includes('拨款指令')),
  );
  const instruction = mailsTo(stack, 'finance@reform.test', pilotId).find((m) => m.subject.includes('拨款指令'))!;
  expect(instruction.subject).toContain('175,000.00');
  expect(instruction.text).toContain(pilotId);

  const confirmedFirst = await act(stack, pilotId, 'tranches/first/confirmation', { reference: 'BANK-0001' }, finance);
  expect(confirmedFirst.tranches?.first).toMatchObject({
    status: 'confirmed',
    confirmation: { reference: 'BANK-0001', by: { id: 'cashier-zhang', role: 'finance' } },
  });

  expect((await act(stack, pilotId, 'midterm-report', { reference: '中期报告.pdf' })).phase).toBe('midterm_review');
  const midterm = await act(stack, pilotId, 'midterm-evaluation', { outcome: 'passed', reason: '进展良好' });
  expect(midterm.phase).toBe('midterm_passed');
  expect(midterm.tranches?.tail).toMatchObject({ status: 'issued', amountFen: 175_000_01 });
  await act(stack, pilotId, 'tranches/tail/confirmation', { reference: 'BANK-0002' }, finance);

  const reported = await act(stack, pilotId, 'final-report', FINAL_REPORT);
  expect(reported).toMatchObject({ phase: 'acceptance_review', finalReport: FINAL_REPORT });
  const closed = await act(stack, pilotId, 'acceptance', { outcome: 'passed', reason: '验收通过' });
  expect(closed).toMatchObject({ phase: 'closed', waitingFor: null });

  expect(await result(pilotId)).toMatchObject({ phase: 'closed' });
  const entries = await ledgerOf(stack, pilotId);
  expect(entries.map((e) => [e.tranche, e.kind, e.status, e.confirmationRef])).toEqual([
    ['first', 'instruction', 'confirmed', 'BANK-0001'],
    ['tail', 'instruction', 'confirmed', 'BANK-0002'],
  ]);
  expect(entries.reduce((sum, e) => sum + e.amountFen, 0)).toBe(350_000_01);
  const row = await stack.db.pilot.findUniqueOrThrow({ where: { id: pilotId } });
  expect(row).toMatchObject({ phase: 'closed', tailWithheld: false });
  expect(row.closedAt).not.toBeNull();

  // 成果宣传: the closed pilot's outcomes are marked and listed per call.
  const marked = await call(stack, 'POST', `/pilots/${pilotId}/publicity`, { note: '在科协官网和公众号宣传' });
  expect(marked.status).toBe(200);
  const listed = await call<{ items: { pilotId: string; publicityNote: string }[] }>(
    stack,
    'GET',
    `/calls/${callId}/publicity`,
  );
  expect(listed.body.items).toEqual([expect.objectContaining({ pilotId, publicityNote: '在科协官网和公众号宣传' })]);
});

test('midterm failed → no tail instruction, the withholding is recorded and notified, the pilot still reaches acceptance', async () => {
  const callId = await openCall(stack);
  const { pilotId } = await pilotInProgress(stack, callId);
  await act(stack, pilotId, 'tranches/first/confirmation', { reference: 'BANK-1' }, finance);
  await act(stack, pilotId, 'midterm-report', { reference: '中期报告.pdf' });

  const failed = await act(stack, pilotId, 'midterm-evaluation', { outcome: 'failed', reason: '进度严重滞后' });
  expect(failed.phase).toBe('tail_withheld');
  expect(failed.tranches?.tail).toMatchObject({ status: 'withheld', withheld: { reason: '进度严重滞后' } });
  expect(await ledgerOf(stack, pilotId)).toEqual([
    expect.objectContaining({ tranche: 'first', kind: 'instruction', status: 'confirmed' }),
    expect.objectContaining({ tranche: 'tail', kind: 'withholding', status: 'withheld', reason: '进度严重滞后' }),
  ]);
  await waitUntil(async () => mailsTo(stack, 'head@zjkx.test', pilotId).some((m) => m.subject.includes('不予拨付')));
  expect(mailsTo(stack, 'office@reform.test', pilotId).some((m) => m.subject.includes('不予拨付'))).toBe(true);
  expect(mailsTo(stack, 'finance@reform.test', pilotId).filter((m) => m.subject.includes('尾款'))).toEqual([]);

  // A tail that was withheld can never be confirmed as paid.
  const confirmTail = await call(
    stack,
    'POST',
    `/pilots/${pilotId}/tranches/tail/confirmation`,
    { reference: 'X' },
    finance,
  );
  expect(confirmTail.status).toBe(409);
  expect(confirmTail.body.code).toBe('TRANCHE_NOT_ISSUED');

  await act(stack, pilotId, 'final-report', FINAL_REPORT);
  const closed = await act(stack, pilotId, 'acceptance', { outcome: 'passed', reason: '整改后验收通过' });
  expect(closed.phase).toBe('closed');
  expect(await result(pilotId)).toMatchObject({ phase: 'closed', tranches: { tail: { status: 'withheld' } } });
  expect(await stack.db.pilot.findUniqueOrThrow({ where: { id: pilotId } })).toMatchObject({ tailWithheld: true });
  expect((await ledgerOf(stack, pilotId)).filter((e) => e.kind === 'instruction')).toHaveLength(1);
});

async function atAcceptance(timing: Record<string, unknown> = {}) {
  const callId = await openCall(stack, timing);
  const { pilotId } = await pilotInProgress(stack, callId);
  await act(stack, pilotId, 'tranches/first/confirmation', { reference: 'BANK-1' }, finance);
  await act(stack, pilotId, 'midterm-report', { reference: '中期报告.pdf' });
  await act(stack, pilotId, 'midterm-evaluation', { outcome: 'passed', reason: '良好' });
  await act(stack, pilotId, 'tranches/tail/confirmation', { reference: 'BANK-2' }, finance);
  await act(stack, pilotId, 'final-report', FINAL_REPORT);
  return pilotId;
}

test('acceptance failed with no rectification rounds → not closed (不予结项)', async () => {
  const pilotId = await atAcceptance();
  const failed = await act(stack, pilotId, 'acceptance', { outcome: 'failed', reason: '成果不达标' });
  expect(failed).toMatchObject({ phase: 'not_closed', waitingFor: null });
  expect(await result(pilotId)).toMatchObject({ phase: 'not_closed', acceptances: [{ outcome: 'failed', round: 0 }] });
  const row = await stack.db.pilot.findUniqueOrThrow({ where: { id: pilotId } });
  expect(row).toMatchObject({ phase: 'not_closed', closedAt: null });
  const publicity = await call(stack, 'POST', `/pilots/${pilotId}/publicity`, { note: '宣传' });
  expect(publicity.status).toBe(409);
  expect(publicity.body.code).toBe('NOT_CLOSED');
});

test('a configured rectification round: failed acceptance → rectification → accepted → closed', async () => {
  const pilotId = await atAcceptance({ rectificationRounds: 1 });
  const failed = await act(stack, pilotId, 'acceptance', { outcome: 'failed', reason: '需补充材料' });
  expect(failed.phase).toBe('rectifying');
  expect(failed.waitingFor).toMatchObject({ what: 'rectification' });
  const rectified = await act(stack, pilotId, 'rectification', { reference: '整改报告.pdf' });
  expect(rectified).toMatchObject({ phase: 'acceptance_review', rectifications: [{ round: 1 }] });
  const closed = await act(stack, pilotId, 'acceptance', { outcome: 'passed', reason: '整改到位' });
  expect(closed.phase).toBe('closed');
  expect(closed.acceptances.map((a) => [a.outcome, a.round])).toEqual([
    ['failed', 0],
    ['passed', 1],
  ]);
});

test('a rectification not handed in within its period → not closed', async () => {
  const pilotId = await atAcceptance({ rectificationRounds: 1, rectificationPeriod: '2s' });
  await act(stack, pilotId, 'acceptance', { outcome: 'failed', reason: '需补充材料' });
  expect(await result(pilotId)).toMatchObject({ phase: 'not_closed', rectifications: [] });
});

test('an objection during the public notice sends the decision back to review; the next notice stands', async () => {
  const callId = await openCall(stack, { publicNoticePeriod: '3s' });
  const pilotId = await approvedPilot(stack, callId);
  const objected = await act(stack, pilotId, 'objections', { reason: '申报材料与实际不符（实名举报）' });
  expect(objected).toMatchObject({ phase: 'under_review', review: null, objections: [{ reason: expect.any(String) }] });
  expect(await ledgerOf(stack, pilotId)).toEqual([]);

  // A new review round: the earlier round's scores do not decide it.
  const unscored = await call(stack, 'POST', `/pilots/${pilotId}/review-decision`, {
    outcome: 'approved',
    amountFen: 320_000_00,
    reason: '复核后通过',
  });
  expect(unscored.body).toMatchObject({ code: 'NOT_ENOUGH_EXPERT_SCORES', detail: '0/1' });
  await act(stack, pilotId, 'expert-scores', {
    expert: { id: 'expert-1', province: '江苏' },
    score: 88,
    comment: '复核',
  });
  const again = await act(stack, pilotId, 'review-decision', {
    outcome: 'approved',
    amountFen: 320_000_00,
    reason: '复核后通过',
  });
  expect(again.phase).toBe('public_notice');
  const started = await waitForPhase(stack, pilotId, 'in_progress');
  expect(started.approvedAmountFen).toBe(320_000_00);

  const late = await call(stack, 'POST', `/pilots/${pilotId}/objections`, { reason: '公示期后异议' });
  expect(late.status).toBe(409);
  expect(late.body.code).toBe('NOT_IN_PUBLIC_NOTICE');
});

test('withdrawn by staff with a reason: the pilot ends, the unpaid tail is withheld, instructed money is still confirmed', async () => {
  const callId = await openCall(stack);
  const { pilotId } = await pilotInProgress(stack, callId);
  const withdrawn = await act(stack, pilotId, 'withdrawal', { reason: '试点单位主动申请退出' });
  expect(withdrawn).toMatchObject({
    phase: 'withdrawn',
    ending: { kind: 'withdrawn', reason: '试点单位主动申请退出' },
    tranches: { first: { status: 'issued' }, tail: { status: 'withheld' } },
  });
  expect((await ledgerOf(stack, pilotId)).map((e) => [e.tranche, e.kind])).toEqual([
    ['first', 'instruction'],
    ['tail', 'withholding'],
  ]);
  const after = await call(stack, 'POST', `/pilots/${pilotId}/midterm-report`, { reference: 'x' });
  expect(after.status).toBe(409);
  expect(after.body.code).toBe('PILOT_ENDED');
  // The first tranche was instructed before the withdrawal: the workflow waits for finance.
  await act(stack, pilotId, 'tranches/first/confirmation', { reference: 'BANK-W' }, finance);
  expect(await result(pilotId)).toMatchObject({ phase: 'withdrawn', tranches: { first: { status: 'confirmed' } } });
  expect(await stack.db.pilot.findUniqueOrThrow({ where: { id: pilotId } })).toMatchObject({ phase: 'withdrawn' });
});

test('integrity flag (弄虚作假): the pilot ends, the unpaid tail is withheld, paid money is reclaimed, the flag stays', async () => {
  const callId = await openCall(stack);
  const { pilotId } = await pilotInProgress(stack, callId);
  const flagged = await act(stack, pilotId, 'integrity-flag', { reason: '申报材料弄虚作假' });
  expect(flagged).toMatchObject({ phase: 'integrity_failed', tranches: { tail: { status: 'withheld' } } });
  // The first tranche had been instructed: finance reports it executed, so it is to be reclaimed (追回).
  await act(stack, pilotId, 'tranches/first/confirmation', { reference: 'BANK-I' }, finance);
  await waitUntil(async () => (await live(stack, pilotId)).tranches?.first.reclaim != null);
  expect((await ledgerOf(stack, pilotId)).map((e) => [e.tranche, e.kind, e.status, e.amountFen])).toEqual([
    ['first', 'instruction', 'confirmed', 175_000_00],
    ['tail', 'withholding', 'withheld', 175_000_00],
    ['first', 'reclaim', 'open', 175_000_00],
  ]);
  await waitUntil(async () =>
    mailsTo(stack, 'finance@reform.test', pilotId).some((m) => m.subject.includes('经费追回')),
  );
  const closedReclaim = await act(stack, pilotId, 'tranches/first/reclaim', { reference: 'REPAID-1' }, finance);
  expect(closedReclaim.tranches?.first.reclaim?.closed).toMatchObject({ reference: 'REPAID-1' });
  expect(await result(pilotId)).toMatchObject({ phase: 'integrity_failed' });
  expect((await ledgerOf(stack, pilotId)).find((e) => e.kind === 'reclaim')).toMatchObject({
    status: 'closed',
    confirmationRef: 'REPAID-1',
  });
  const unitCode = (await live(stack, pilotId)).pilotUnit.code;
  expect(await stack.db.unitIntegrityFlag.findMany({ where: { pilotUnitCode: unitCode } })).toEqual([
    expect.objectContaining({ pilotId, reason: '申报材料弄虚作假' }),
  ]);
});

test('a repeated finance confirmation is refused and leaves one ledger row per tranche', async () => {
  const callId = await openCall(stack);
  const { pilotId } = await pilotInProgress(stack, callId);
  await act(stack, pilotId, 'tranches/first/confirmation', { reference: 'BANK-9' }, finance);
  const again = await call(
    stack,
    'POST',
    `/pilots/${pilotId}/tranches/first/confirmation`,
    { reference: 'BANK-9' },
    finance,
  );
  expect(again.status).toBe(409);
  expect(again.body.code).toBe('TRANCHE_ALREADY_CONFIRMED');
  const notIssued = await call(
    stack,
    'POST',
    `/pilots/${pilotId}/tranches/tail/confirmation`,
    { reference: 'B' },
    finance,
  );
  expect(notIssued.status).toBe(409);
  expect(notIssued.body.code).toBe('TRANCHE_NOT_ISSUED');
  expect((await ledgerOf(stack, pilotId)).map((e) => [e.tranche, e.status, e.confirmationRef])).toEqual([
    ['first', 'confirmed', 'BANK-9'],
  ]);
});
