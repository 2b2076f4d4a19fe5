/** The read side of the admin API, over real HTTP: calls, public notice, audit trail, OpenAPI, health. */
import { call, startStack, type Stack } from './support/stack';
import { approvedPilot, openCall, pilotInProgress, registerPilot, waitUntil } from './support/pilots';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

test('calls are listed and read, with the deadline in Beijing time', async () => {
  const callId = await openCall(stack);
  const listed = await call<{ items: { id: string }[] }>(stack, 'GET', '/calls', undefined, { as: 'auditor' });
  expect(listed.body.items.map((c) => c.id)).toContain(callId);
  const read = await call(stack, 'GET', `/calls/${callId}`, undefined, { as: 'finance' });
  expect(read.status).toBe(200);
  expect(read.body).toMatchObject({ id: callId, timing: { publicNoticePeriod: '1s' }, firstTrancheBasisPoints: 5000 });
  expect((read.body.beijingTime as Record<string, string>).submissionDeadline).toMatch(/北京时间/);
  const missing = await call(stack, 'GET', '/calls/no-such-call');
  expect([missing.status, missing.body.code]).toEqual([404, 'CALL_NOT_FOUND']);
});

test('a date-only deadline ends at 24:00 Beijing time', async () => {
  const created = await call(stack, 'POST', '/calls', {
    id: 'beijing-midnight',
    name: '日期测试',
    submissionDeadline: '2030-06-10',
    funding: { minFen: 1, maxFen: 2 },
    period: { start: '2030-07', end: '2031-07' },
    office: { name: '办公室', email: 'o@x.test' },
    financeEmail: 'f@x.test',
  });
  expect(created.status).toBe(201);
  expect(created.body.submissionDeadline).toBe('2030-06-10T16:00:00.000Z');
});

test('the public notice lists approved pilots with unit, theme and amount, as JSON and as a printable page, without a token', async () => {
  const callId = await openCall(stack, { publicNoticePeriod: '30s' });
  const approved = await approvedPilot(stack, callId, 360_000_00);
  await registerPilot(stack, callId); // not approved: not listed
  await waitUntil(async () => (await stack.db.pilot.count({ where: { callId } })) === 2);
  await waitUntil(
    async () => (await stack.db.pilot.findUniqueOrThrow({ where: { id: approved } })).publicNoticeStartedAt !== null,
  );

  // Public: no token (test/public-notice.test.ts has the rest: who is listed, dates, limits, Chromium).
  const json = await call<{ items: Record<string, unknown>[] }>(
    stack,
    'GET',
    `/calls/${callId}/public-notice`,
    undefined,
    {
      as: null,
    },
  );
  expect(json.body.items).toEqual([
    expect.objectContaining({
      pilotId: approved,
      themes: ['基层组织改革', '联系服务科技工作者'],
      approvedAmountFen: 360_000_00,
    }),
  ]);
  const html = await call<string>(stack, 'GET', `/calls/${callId}/public-notice.html`, undefined, { as: null });
  expect(html.status).toBe(200);
  expect(html.contentType).toMatch(/text\/html/);
  expect(html.body).toContain('评审结果公示');
  expect(html.body).toContain('360,000.00');
  expect(html.body).toContain('基层组织改革、联系服务科技工作者');
});

test('the audit trail and the ledger of a pilot are readable by the roles that need them', async () => {
  const callId = await openCall(stack);
  const { pilotId } = await pilotInProgress(stack, callId);
  await waitUntil(async () => (await stack.db.auditEvent.count({ where: { pilotId, step: 'work-started' } })) === 1);
  const audit = await call<{
    items: { step: string; phase: string | null; actorId: string | null; actorRole: string | null }[];
  }>(stack, 'GET', `/pilots/${pilotId}/audit`, undefined, { as: 'auditor' });
  // Decisions and lifecycle steps (automatic actions such as notices are interleaved with them).
  expect(audit.body.items.filter((a) => a.phase !== null).map((a) => a.step)).toEqual([
    'registered',
    'submitted',
    'expert-score:expert-1:0',
    'review-decided:0',
    'public-notice-passed',
    'first-tranche-issued',
    'work-started',
  ]);
  expect(audit.body.items.find((a) => a.step === 'review-decided:0')).toMatchObject({
    actorId: 'admin-ops',
    actorRole: 'admin',
  });
  const ledger = await call<{ items: { tranche: string }[] }>(stack, 'GET', `/pilots/${pilotId}/ledger`, undefined, {
    as: 'finance',
  });
  expect(ledger.body.items.map((e) => e.tranche)).toEqual(['first']);
  // Finance works with amounts, not with the applicants' personal data.
  const asFinance = JSON.stringify((await call(stack, 'GET', `/pilots/${pilotId}`, undefined, { as: 'finance' })).body);
  const asAuditor = JSON.stringify((await call(stack, 'GET', `/pilots/${pilotId}`, undefined, { as: 'auditor' })).body);
  expect(asAuditor).toContain('13800138000');
  expect(asFinance).not.toContain('13800138000');
  expect(asFinance).toContain('基层组织改革');
  const listed = await call<{ total: number; items: { id: string }[] }>(
    stack,
    'GET',
    `/pilots?callId=${callId}&phase=in_progress&limit=1`,
  );
  expect(listed.body).toMatchObject({ total: 1, items: [{ id: pilotId }] });
  const badQuery = await call(stack, 'GET', '/pilots?limit=0');
  expect([badQuery.status, badQuery.body.code]).toEqual([422, 'VALIDATION_FAILED']);
});

test('OpenAPI 3.1 describes every endpoint, with a docs page; health and readiness answer without a token', async () => {
  const doc = await call<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(
    stack,
    'GET',
    '/openapi.json',
    undefined,
    {
      as: null,
    },
  );
  expect(doc.body.openapi).toBe('3.1.0');
  for (const e of stack.endpoints) {
    expect([e.path, Object.keys(doc.body.paths[e.path.replace(/:(\w+)/g, '{$1}')] ?? {})]).toEqual([
      e.path,
      expect.arrayContaining([e.method]),
    ]);
  }
  const submission = doc.body.paths['/pilots/{pilotId}/submission']!.post as {
    requestBody: { content: Record<string, unknown> };
  };
  expect(Object.keys(submission.requestBody.content)).toEqual(['multipart/form-data']);
  const docs = await call<string>(stack, 'GET', '/docs', undefined, { as: null });
  expect(docs.body).toContain('swagger-ui-bundle.js');
  const asset = await fetch(`${stack.baseUrl}/docs/assets/swagger-ui-bundle.js`);
  expect(asset.status).toBe(200);

  expect((await call(stack, 'GET', '/health/live', undefined, { as: null })).body).toEqual({ status: 'ok' });
  expect((await call(stack, 'GET', '/health/ready', undefined, { as: null })).body).toEqual({
    status: 'ok',
    database: 'ok',
    temporal: 'ok',
  });
  const unknown = await call(stack, 'GET', '/nowhere');
  expect([unknown.status, unknown.body.code, unknown.body.message]).toEqual([404, 'NOT_FOUND', '请求的资源不存在']);
});
