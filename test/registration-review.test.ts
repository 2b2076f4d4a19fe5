/**
 * Registration, submission and expert review through the HTTP API on the real stack, expiry, and
 * the refusals that must leave no trace.
 */
import { call, compressedCall, registration, startStack, uniqueId, type Stack } from './support/stack';
import { quietHistory, readHistory } from './support/history';
import { submitApplication } from './support/application';
import { openCall } from './support/pilots';
import type { PilotState } from '../domain/pilot';

type PilotView = PilotState & { beijingTime: Record<string, string> };

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function register(callId: string, unit = uniqueId('unit')): Promise<string> {
  const registered = await call<{ pilotId: string; phase: string }>(
    stack,
    'POST',
    '/pilots',
    registration(callId, unit),
  );
  expect(registered.status).toBe(201);
  expect(registered.body.phase).toBe('registered');
  return registered.body.pilotId;
}

async function score(pilotId: string, expertId = 'expert-1', province = '江苏') {
  const scored = await call(
    stack,
    'POST',
    `/pilots/${pilotId}/expert-scores`,
    { expert: { id: expertId, province }, score: 88, comment: '方案扎实 / solid plan' },
    { as: 'reviewer' },
  );
  expect(scored.status).toBe(200);
  return scored;
}

test('register → submit before the deadline → approve: API, database and workflow agree, history shows each step', async () => {
  const callId = await openCall(stack, {}, 120);
  const pilotId = await register(callId, 'hangzhou');
  expect(pilotId).toBe(`${callId}.hangzhou`);

  const submitted = await submitApplication(stack, pilotId, { as: 'staff' });
  expect(submitted.status).toBe(200);
  expect(submitted.body).toMatchObject({ phase: 'submitted', waitingFor: { what: 'review-decision' } });

  const scored = await score(pilotId);
  expect(scored.body).toMatchObject({
    phase: 'under_review',
    expertScores: [{ expert: { id: 'expert-1' }, score: 88 }],
  });

  const approved = await call(stack, 'POST', `/pilots/${pilotId}/review-decision`, {
    outcome: 'approved',
    amountFen: 350_000_00,
    reason: '专家组评审通过 / approved by the expert panel',
  });
  expect(approved.status).toBe(200);

  const live = await call<PilotView>(stack, 'GET', `/pilots/${pilotId}`);
  expect(live.status).toBe(200);
  expect(live.body).toMatchObject({
    pilotId,
    phase: 'public_notice',
    submission: {
      form: {
        basic: { pilotUnit: 'hangzhou 市科协', applicantUnit: '浙江省科学技术协会' },
        themes: ['基层组织改革', '联系服务科技工作者'],
      },
      pdf: { fileName: '浙江省科学技术协会.pdf', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      by: { id: 'clerk-li', role: 'staff' },
    },
    review: { outcome: 'approved', amountFen: 350_000_00, by: { id: 'admin-ops', role: 'admin' } },
    waitingFor: { what: 'public-notice' },
  });
  expect(live.body.beijingTime.submissionDeadline).toMatch(/北京时间/);

  // The database row, written by the workflow's activity, says the same.
  const row = await stack.db.pilot.findUniqueOrThrow({ where: { id: pilotId } });
  expect(row).toMatchObject({
    callId,
    pilotUnitCode: 'hangzhou',
    phase: 'public_notice',
    approvedAmountFen: 350_000_00,
  });
  expect(row.submittedAt?.toISOString()).toBe(live.body.submission?.at);
  expect(row.decidedAt?.toISOString()).toBe(live.body.review?.at);

  const listed = await call<{ items: { id: string; phase: string }[] }>(stack, 'GET', `/pilots?callId=${callId}`);
  expect(listed.body.items).toEqual([expect.objectContaining({ id: pilotId, phase: 'public_notice' })]);

  const audit = await stack.db.auditEvent.findMany({ where: { pilotId }, orderBy: { id: 'asc' } });
  expect(audit.slice(0, 4).map((a) => [a.step, a.phase, a.actorId])).toEqual([
    ['registered', 'registered', 'admin-ops'],
    ['submitted', 'submitted', 'clerk-li'],
    ['expert-score:expert-1:0', 'under_review', 'expert-panel'],
    ['review-decided:0', 'public_notice', 'admin-ops'],
  ]);

  const { acceptedUpdates, recordedSteps } = await readHistory(stack.client, pilotId);
  expect(acceptedUpdates).toEqual(['submit', 'recordExpertScore', 'decideReview']);
  expect(recordedSteps.slice(0, 4)).toEqual(['registered', 'submitted', 'expert-score:expert-1:0', 'review-decided:0']);
});

test('an expert from the applicant’s own province is refused (回避), and an expert scores once', async () => {
  const callId = await openCall(stack, {}, 120);
  const pilotId = await register(callId);
  expect((await submitApplication(stack, pilotId)).status).toBe(200);

  const sameProvince = await call(stack, 'POST', `/pilots/${pilotId}/expert-scores`, {
    expert: { id: 'expert-zj', province: '浙江' },
    score: 90,
    comment: '很好',
  });
  expect(sameProvince.status).toBe(422);
  expect(sameProvince.body).toMatchObject({
    code: 'EXPERT_CONFLICT_OF_INTEREST',
    message: expect.stringContaining('回避'),
  });

  await score(pilotId, 'expert-js', '江苏');
  const twice = await call(stack, 'POST', `/pilots/${pilotId}/expert-scores`, {
    expert: { id: 'expert-js', province: '江苏' },
    score: 70,
    comment: '再评',
  });
  expect(twice.status).toBe(409);
  expect(twice.body.code).toBe('EXPERT_ALREADY_SCORED');
  const live = await call<PilotView>(stack, 'GET', `/pilots/${pilotId}`);
  expect(live.body.expertScores).toHaveLength(1);
});

test('a panel decision needs the call’s number of expert scores', async () => {
  const callId = uniqueId('call');
  expect(
    (await call(stack, 'POST', '/calls', compressedCall(callId, 120, {}, { review: { minExpertScores: 2 } }))).status,
  ).toBe(201);
  const pilotId = await register(callId);
  await submitApplication(stack, pilotId);
  await score(pilotId, 'expert-a', '江苏');
  const early = await call(stack, 'POST', `/pilots/${pilotId}/review-decision`, {
    outcome: 'rejected',
    reason: '不足',
  });
  expect(early.status).toBe(409);
  expect(early.body).toMatchObject({ code: 'NOT_ENOUGH_EXPERT_SCORES', detail: '1/2' });
  await score(pilotId, 'expert-b', '安徽');
  const decided = await call(stack, 'POST', `/pilots/${pilotId}/review-decision`, {
    outcome: 'rejected',
    reason: '方案不具体',
  });
  expect(decided.status).toBe(200);
  expect(decided.body.phase).toBe('rejected');
});

test('no submission before the (compressed) deadline → the workflow ends as expired', async () => {
  const callId = await openCall(stack, {}, 3);
  const pilotId = await register(callId);

  const result = await stack.client.workflow.getHandle(pilotId).result();
  expect(result).toMatchObject({ phase: 'expired', submission: null, waitingFor: null });
  const row = await stack.db.pilot.findUniqueOrThrow({ where: { id: pilotId } });
  expect(row.phase).toBe('expired');
  const live = await call(stack, 'GET', `/pilots/${pilotId}`);
  expect(live.body.phase).toBe('expired');
});

test('submitting after the deadline is refused with a clear error and changes nothing', async () => {
  const callId = await openCall(stack, {}, 3);
  const pilotId = await register(callId);
  await stack.client.workflow.getHandle(pilotId).result();
  const before = await readHistory(stack.client, pilotId);

  const late = await submitApplication(stack, pilotId);
  expect(late.status).toBe(422);
  expect(late.contentType).toMatch(/application\/problem\+json/);
  expect(late.body).toMatchObject({
    code: 'SUBMISSION_LATE',
    message: '申报材料在截止时间之后才收到，逾期不予受理',
    messageEn: expect.stringMatching(/late applications are not accepted/),
  });

  const after = await readHistory(stack.client, pilotId);
  expect(after.eventCount).toBe(before.eventCount);
  const row = await stack.db.pilot.findUniqueOrThrow({ where: { id: pilotId } });
  expect(row).toMatchObject({ phase: 'expired', submittedAt: null });

  // Nor can a new pilot be registered under a call whose deadline has passed.
  const tooLate = await call(stack, 'POST', '/pilots', registration(callId, uniqueId('late')));
  expect(tooLate.status).toBe(422);
  expect(tooLate.body.code).toBe('REGISTRATION_CLOSED');
});

test('a review decision before a submission is refused (409) and leaves no event in history', async () => {
  const callId = await openCall(stack, {}, 120);
  const pilotId = await register(callId);
  const before = await quietHistory(stack.client, pilotId);

  const early = await call(stack, 'POST', `/pilots/${pilotId}/review-decision`, {
    outcome: 'approved',
    amountFen: 350_000_00,
    reason: '提前决定',
  });
  expect(early.status).toBe(409);
  expect(early.body).toMatchObject({ code: 'NOT_YET_SUBMITTED', message: expect.stringContaining('尚未收到申报材料') });

  const after = await readHistory(stack.client, pilotId);
  expect(after.eventCount).toBe(before.eventCount);
  expect(after.acceptedUpdates).toEqual([]);
  const live = await call(stack, 'GET', `/pilots/${pilotId}`);
  expect(live.body).toMatchObject({ phase: 'registered', review: null });
});

test('an approved amount outside the call range is refused and the pilot stays under review', async () => {
  const callId = await openCall(stack, {}, 120);
  const pilotId = await register(callId);
  expect((await submitApplication(stack, pilotId)).status).toBe(200);
  await score(pilotId);

  const tooMuch = await call(stack, 'POST', `/pilots/${pilotId}/review-decision`, {
    outcome: 'approved',
    amountFen: 400_000_01,
    reason: '超出范围',
  });
  expect(tooMuch.status).toBe(422);
  expect(tooMuch.body.code).toBe('AMOUNT_OUT_OF_RANGE');

  const rejected = await call(stack, 'POST', `/pilots/${pilotId}/review-decision`, {
    outcome: 'rejected',
    reason: '方案不具体',
  });
  expect(rejected.status).toBe(200);
  expect(rejected.body).toMatchObject({ phase: 'rejected', review: { outcome: 'rejected', reason: '方案不具体' } });
  const again = await call(stack, 'POST', `/pilots/${pilotId}/review-decision`, {
    outcome: 'rejected',
    reason: '再次',
  });
  expect(again.status).toBe(409);
  expect(again.body.code).toBe('PILOT_ENDED');
});

test('bad input is refused with field paths, and a unit cannot be registered twice under one call', async () => {
  const callId = await openCall(stack, {}, 120);
  const invalid = await call(stack, 'POST', '/pilots', {
    callId,
    pilotUnit: { code: 'Bad Code!', name: '' },
    province: '浙江',
  });
  expect(invalid.status).toBe(422);
  expect(invalid.body.code).toBe('VALIDATION_FAILED');
  expect((invalid.body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual(
    ['applicantUnit', 'contacts', 'pilotUnit.code', 'pilotUnit.name'].sort(),
  );

  const malformed = await call(stack, 'POST', '/pilots', '{"callId":');
  expect(malformed.status).toBe(400);
  expect(malformed.body.code).toBe('MALFORMED_JSON');

  const unknownCall = await call(stack, 'POST', '/pilots', registration('no-such-call', 'x'));
  expect(unknownCall.status).toBe(404);
  expect(unknownCall.body.code).toBe('CALL_NOT_FOUND');

  await register(callId, 'wenzhou');
  const twice = await call(stack, 'POST', '/pilots', registration(callId, 'wenzhou'));
  expect(twice.status).toBe(409);
  expect(twice.body.code).toBe('PILOT_ALREADY_REGISTERED');

  const unknownPilot = await call(stack, 'GET', `/pilots/${callId}.nobody`);
  expect(unknownPilot.status).toBe(404);
  expect(unknownPilot.body.code).toBe('PILOT_NOT_FOUND');
});
