/**
 * The notice as written, through the HTTP API on the real stack: lateness judged by arrival
 * (逾期不予受理) with an entry period after the deadline, recusal (回避) by province code, the
 * applicant as the provincial association, integrity records across calls, and a new review round
 * after an objection.
 */
import { APPLICANT_UNIT, pdfBytes, validForm } from './support/application';
import { act, openCall, waitForPhase } from './support/pilots';
import { call, registration, startStack, uniqueId, type Stack } from './support/stack';
import type { PilotState } from '../domain/pilot';

type PilotView = PilotState & { beijingTime: Record<string, string> };

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function register(callId: string, overrides: Record<string, unknown> = {}, unit = uniqueId('unit')) {
  const answer = await call<PilotView>(stack, 'POST', '/pilots', { ...registration(callId, unit), ...overrides });
  if (answer.status !== 201) throw new Error(`POST /pilots: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** The application handed in another way, with the time staff state it arrived. */
function handedIn(pilotId: string, receivedAt?: string) {
  const body = new FormData();
  body.append('form', JSON.stringify(validForm(`${pilotId.split('.')[1]} 市科协`)));
  if (receivedAt) body.append('receivedAt', receivedAt);
  body.append(
    'pdf',
    new Blob([new Uint8Array(pdfBytes(pilotId))], { type: 'application/pdf' }),
    `${APPLICANT_UNIT}.pdf`,
  );
  return call<PilotView & { code?: string; detail?: string }>(stack, 'POST', `/pilots/${pilotId}/submission`, body);
}

describe('lateness is judged by arrival, not by entry (逾期不予受理)', () => {
  test('an application that arrived on time is accepted when keyed in after the deadline', async () => {
    const callId = await openCall(stack, { entryPeriod: '60s' }, 3);
    const call_ = await stack.db.call.findUniqueOrThrow({ where: { id: callId } });
    const deadline = call_.submissionDeadline.getTime();
    const onTime = await register(callId);
    const late = await register(callId);
    expect(onTime.entryUntil).toBe(new Date(deadline + 60_000).toISOString());
    await sleep(deadline - Date.now() + 500);

    // Still waiting for entry, not expired: the deadline passed but the entry period runs.
    const waiting = await call<PilotView>(stack, 'GET', `/pilots/${onTime.pilotId}`);
    expect(waiting.body).toMatchObject({ phase: 'registered', waitingFor: { what: 'submission' } });

    const arrivedLate = await handedIn(late.pilotId, new Date(deadline).toISOString());
    expect(arrivedLate.status).toBe(422);
    expect(arrivedLate.body).toMatchObject({
      code: 'SUBMISSION_LATE',
      message: expect.stringContaining('逾期不予受理'),
    });
    expect(String(arrivedLate.body.detail)).toContain('北京时间');

    const enteredLater = await handedIn(onTime.pilotId, new Date(deadline - 1000).toISOString());
    expect(enteredLater.status).toBe(200);
    expect(enteredLater.body.phase).toBe('submitted');
    expect(enteredLater.body.submission).toMatchObject({
      receivedAt: new Date(deadline - 1000).toISOString(),
      receipt: { via: 'other' },
    });

    // Keyed in without a stated arrival, after the deadline: its arrival is now, so it is late.
    const unstated = await handedIn(late.pilotId);
    expect(unstated.body.code).toBe('SUBMISSION_LATE');
  });

  test('an arrival in the future is refused; after the entry period the pilot expires', async () => {
    const callId = await openCall(stack, { entryPeriod: '2s' }, 2);
    const pilot = await register(callId);
    const future = await handedIn(pilot.pilotId, new Date(Date.now() + 3_600_000).toISOString());
    expect(future.status).toBe(422);
    expect(future.body.code).toBe('RECEIVED_IN_FUTURE');
    const result = await stack.client.workflow.getHandle(pilot.pilotId).result();
    expect(result.phase).toBe('expired');
    const tooLate = await handedIn(pilot.pilotId, new Date(Date.parse(pilot.submissionDeadline) - 1000).toISOString());
    expect(tooLate.status).toBe(422);
    expect(tooLate.body.code).toBe('ENTRY_PERIOD_ENDED');
  });
});

describe('provinces as codes', () => {
  test('recusal (回避) compares codes, however the province is written', async () => {
    const callId = await openCall(stack);
    const pilot = await register(callId, { province: '浙江省' });
    expect(pilot.province).toBe('330000');
    expect((await handedIn(pilot.pilotId)).status).toBe(200);
    for (const province of ['浙江', '浙江省', '330000', ' 浙江 ']) {
      const refused = await call(stack, 'POST', `/pilots/${pilot.pilotId}/expert-scores`, {
        expert: { id: `zj-${province.trim()}`, province },
        score: 90,
        comment: '好',
      });
      expect(refused.status).toBe(422);
      expect(refused.body).toMatchObject({ code: 'EXPERT_CONFLICT_OF_INTEREST', detail: '浙江省' });
    }
    const unknown = await call(stack, 'POST', `/pilots/${pilot.pilotId}/expert-scores`, {
      expert: { id: 'x', province: '大西洋' },
      score: 90,
      comment: '好',
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe('VALIDATION_FAILED');
    const scored = await act(stack, pilot.pilotId, 'expert-scores', {
      expert: { id: 'js', province: '江苏省' },
      score: 90,
      comment: '好',
    });
    expect(scored.expertScores[0]!.expert.province).toBe('320000');
  });

  test('the applicant is the provincial association of the pilot unit’s province', async () => {
    const callId = await openCall(stack);
    const wrongProvince = await call(stack, 'POST', '/pilots', {
      ...registration(callId, uniqueId('unit')),
      applicantUnit: { name: '江苏省科学技术协会' },
    });
    expect(wrongProvince.status).toBe(422);
    expect(wrongProvince.body).toMatchObject({ code: 'APPLICANT_NOT_PROVINCIAL_ASSOCIATION' });
    const statedElsewhere = await call(stack, 'POST', '/pilots', {
      ...registration(callId, uniqueId('unit')),
      applicantUnit: { name: '浙江省科学技术协会', province: '江苏' },
    });
    expect(statedElsewhere.body.code).toBe('APPLICANT_NOT_PROVINCIAL_ASSOCIATION');
    // A prefecture-level association is not the provincial one, whatever its name begins with.
    for (const name of ['浙江省杭州市科学技术协会', '吉林市科学技术协会', '浙江省科学技术协会杭州分会']) {
      const prefecture = await call(stack, 'POST', '/pilots', {
        ...registration(callId, uniqueId('unit')),
        province: name.startsWith('吉林') ? '吉林' : '浙江',
        applicantUnit: { name },
      });
      expect([name, prefecture.body.code]).toEqual([name, 'APPLICANT_NOT_PROVINCIAL_ASSOCIATION']);
    }
    const xpccIsNotXinjiang = await call(stack, 'POST', '/pilots', {
      ...registration(callId, uniqueId('unit')),
      province: '新疆',
      applicantUnit: { name: '新疆生产建设兵团科学技术协会' },
    });
    expect(xpccIsNotXinjiang.body.code).toBe('APPLICANT_NOT_PROVINCIAL_ASSOCIATION');
    const provincialForAnother = await call(stack, 'POST', '/pilots', {
      ...registration(callId, uniqueId('unit')),
      provincial: true,
    });
    expect(provincialForAnother.body.code).toBe('APPLICANT_NOT_PROVINCIAL_ASSOCIATION');

    const provincial = await register(callId, {
      pilotUnit: { code: uniqueId('zjkx'), name: '浙江省科学技术协会' },
      provincial: true,
    });
    expect(provincial).toMatchObject({ applicantUnit: { name: '浙江省科学技术协会', province: '330000' } });
    const byCode = await register(callId, {
      province: '330000',
      applicantUnit: { name: '浙江省科协', province: '浙江' },
    });
    expect(byCode.applicantUnit.province).toBe('330000');
    // Nothing was started for the refused registrations.
    expect(await stack.db.pilot.count({ where: { callId } })).toBeLessThanOrEqual(2);
  });
});

test('a unit flagged for false material (弄虚作假) is refused in a later call, and staff can read its record', async () => {
  const first = await openCall(stack);
  const unit = uniqueId('fraud');
  const flagged = await register(first, {}, unit);
  expect((await handedIn(flagged.pilotId)).status).toBe(200);
  await act(stack, flagged.pilotId, 'integrity-flag', { reason: '申报材料弄虚作假' });
  await waitForPhase(stack, flagged.pilotId, 'integrity_failed');

  const later = await openCall(stack);
  const refused = await call(stack, 'POST', '/pilots', registration(later, unit));
  expect(refused.status).toBe(409);
  expect(refused.body).toMatchObject({ code: 'UNIT_INTEGRITY_RECORD' });
  expect(String(refused.body.detail)).toContain(first);
  // Under another code, by the same name: still the same unit.
  const renamed = await call(stack, 'POST', '/pilots', {
    ...registration(later, uniqueId('other')),
    pilotUnit: { code: uniqueId('other'), name: `${unit} 市科协` },
  });
  expect(renamed.body.code).toBe('UNIT_INTEGRITY_RECORD');
  expect(await stack.db.pilot.count({ where: { callId: later } })).toBe(0);

  const record = await call<{ items: { callId: string; reason: string }[] }>(
    stack,
    'GET',
    `/units/${unit}/integrity`,
    undefined,
    {
      as: 'auditor',
    },
  );
  expect(record.status).toBe(200);
  expect(record.body.items).toEqual([expect.objectContaining({ callId: first, reason: '申报材料弄虚作假' })]);
  expect((await call(stack, 'GET', `/units/${unit}/integrity`, undefined, { as: 'finance' })).status).toBe(403);

  // A call that readmits after a year does not readmit a record made today.
  const readmitting = await openCall(stack, {}, 120, { integrity: { readmitAfterYears: 1 } });
  expect((await call(stack, 'POST', '/pilots', registration(readmitting, unit))).body.code).toBe(
    'UNIT_INTEGRITY_RECORD',
  );
  // ...but does readmit one from years ago (an older record, as an earlier call left it).
  const old = uniqueId('old');
  await stack.db.unitIntegrityFlag.create({
    data: {
      pilotId: `${first}.${old}`,
      pilotUnitCode: old,
      reason: '2018年弄虚作假',
      flaggedBy: 'staff-2018',
      flaggedAt: new Date('2018-05-01T00:00:00Z'),
    },
  });
  expect((await call(stack, 'POST', '/pilots', registration(readmitting, old))).status).toBe(201);
  expect((await call(stack, 'POST', '/pilots', registration(later, old))).body.code).toBe('UNIT_INTEGRITY_RECORD');
});

test('after an objection the experts review again: the decision needs scores from the new round', async () => {
  const callId = await openCall(stack, { publicNoticePeriod: '60s' });
  const pilot = await register(callId);
  expect((await handedIn(pilot.pilotId)).status).toBe(200);
  await act(stack, pilot.pilotId, 'expert-scores', {
    expert: { id: 'e1', province: '江苏' },
    score: 90,
    comment: '好',
  });
  await act(stack, pilot.pilotId, 'review-decision', { outcome: 'approved', amountFen: 350_000_00, reason: '通过' });
  await waitForPhase(stack, pilot.pilotId, 'public_notice');
  await act(stack, pilot.pilotId, 'objections', { reason: '群众反映材料不实' });
  await waitForPhase(stack, pilot.pilotId, 'under_review');

  const again = await call(stack, 'POST', `/pilots/${pilot.pilotId}/review-decision`, {
    outcome: 'approved',
    amountFen: 350_000_00,
    reason: '维持',
  });
  expect(again.status).toBe(409);
  expect(again.body).toMatchObject({ code: 'NOT_ENOUGH_EXPERT_SCORES', detail: '0/1' });
  // The same expert may score the new round.
  const rescored = await act(stack, pilot.pilotId, 'expert-scores', {
    expert: { id: 'e1', province: '江苏' },
    score: 80,
    comment: '复核',
  });
  expect(rescored.expertScores.map((s) => s.round)).toEqual([0, 1]);
  const decided = await act(stack, pilot.pilotId, 'review-decision', { outcome: 'rejected', reason: '复核不通过' });
  expect(decided.phase).toBe('rejected');
});
