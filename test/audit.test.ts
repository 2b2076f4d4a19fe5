/**
 * What auditors rely on: search attributes that find exactly the right pilots, decisions that carry
 * actor, role, reason and time, encrypted personal data with a codec endpoint for the Web UI, and
 * the same trail in the database, exportable.
 */
import { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { AesGcmCodec } from '../lib/codec';
import { decodePayload, localActivityType } from './support/history';
import { scenarios } from './support/scenarios';
import { act, openCall, pilotInProgress, registerPilot, submit, waitUntil } from './support/pilots';
import { call, startStack, TEST_CODEC_KEYS, type Stack } from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const codec = new AesGcmCodec(TEST_CODEC_KEYS);

const decode = (payload: Payload | null | undefined): Promise<unknown> =>
  payload ? decodePayload(payload) : Promise.resolve(undefined);

async function listed(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const workflow of stack.client.workflow.list({ query })) ids.push(workflow.workflowId);
  return ids.sort();
}

async function expectFound(query: string, expected: string[]): Promise<void> {
  // Visibility is eventually consistent: wait for the expected answer, then compare exactly.
  await waitUntil(
    async () => JSON.stringify(await listed(query)) === JSON.stringify([...expected].sort()),
    15_000,
    query,
  ).catch(() => undefined);
  expect(await listed(query)).toEqual([...expected].sort());
}

test('search-attribute filters return exactly the expected pilots', async () => {
  const callA = await openCall(stack);
  const callB = await openCall(stack);
  const zj = await registerPilot(stack, callA, undefined, '浙江');
  const js = (await pilotInProgress(stack, callA, undefined, '江苏')).pilotId;
  const withheld = (await pilotInProgress(stack, callA, undefined, '江苏')).pilotId;
  await act(stack, withheld, 'tranches/first/confirmation', { reference: 'B' }, { as: 'finance' });
  await act(stack, withheld, 'midterm-report', { reference: 'm.pdf' });
  await act(stack, withheld, 'midterm-evaluation', { outcome: 'failed', reason: '滞后' });
  const other = await registerPilot(stack, callB, undefined, '江苏');

  await expectFound(`PilotCallId = '${callA}'`, [zj, js, withheld]);
  await expectFound(`PilotCallId = '${callA}' AND PilotProvince = '320000'`, [js, withheld]);
  await expectFound(
    `PilotProvince = '320000' AND PilotPhase = 'in_progress' AND PilotCallId IN ('${callA}', '${callB}')`,
    [js],
  );
  await expectFound(`PilotCallId = '${callA}' AND PilotTailWithheld = true`, [withheld]);
  await expectFound(`PilotCallId = '${callB}' AND PilotPhase = 'registered'`, [other]);
  const unit = zj.split('.')[1]!;
  await expectFound(`PilotUnitCode = '${unit}'`, [zj]);
  // The registered pilot's deadline is minutes away; the others' midterm reports are due in an hour.
  const soon = new Date(Date.now() + 10 * 60_000).toISOString();
  await expectFound(`PilotCallId = '${callA}' AND PilotNextDue < '${soon}'`, [zj]);

  const description = await stack.client.workflow.getHandle(js).describe();
  expect(await description.staticSummary()).toBe(
    `${js.split('.')[1]} 市科协（江苏省）· 测试申报通知 ${callA} (test call)`,
  );
  expect(description.typedSearchAttributes.get({ name: 'PilotPhase', type: 'KEYWORD' } as never)).toBe('in_progress');
});

test('every decision in a full-lifecycle history carries actor, role, reason and time; activities and timers have summaries', async () => {
  const pilotId = await scenarios['rectified-closed']!(stack);
  await stack.client.workflow.getHandle(pilotId).result();
  const events = (await stack.client.workflow.getHandle(pilotId).fetchHistory()).events ?? [];

  const decisions = new Set([
    'decideReview',
    'raiseObjection',
    'evaluateMidterm',
    'decideAcceptance',
    'extendDueDate',
    'withdraw',
    'flagIntegrity',
  ]);
  const checked: string[] = [];
  for (const event of events) {
    const accepted = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
    if (!accepted) continue;
    const args = (await decode(accepted.args?.payloads?.[0])) as {
      actor?: { id: string; role: string };
      reason?: string;
      requestedAt?: string;
    };
    expect([accepted.name, args.actor?.id, args.actor?.role]).toEqual([
      accepted.name,
      expect.any(String),
      expect.any(String),
    ]);
    expect(Date.parse(args.requestedAt ?? '')).not.toBeNaN();
    if (decisions.has(accepted.name!)) {
      expect([accepted.name, args.reason]).toEqual([accepted.name, expect.stringMatching(/\S/)]);
      checked.push(accepted.name!);
    }
  }
  expect(checked).toEqual(['decideReview', 'evaluateMidterm', 'decideAcceptance', 'decideAcceptance']);

  const activitySummaries = await Promise.all(
    events
      // Database writes are local activities (patch 'slim-history'): markers, with the same summaries.
      .filter((e) => e.activityTaskScheduledEventAttributes || localActivityType(e))
      .map((e) => decode((e.userMetadata as temporal.api.sdk.v1.IUserMetadata | null)?.summary)),
  );
  expect(activitySummaries.length).toBeGreaterThanOrEqual(15);
  expect(activitySummaries.filter((s) => typeof s !== 'string' || s.length === 0)).toEqual([]);
  expect(activitySummaries).toContain('第一批经费 first tranche 拨款指令 instruction 175,000.00 元 CNY');
  const timerSummaries = await Promise.all(
    events
      .filter((e) => e.timerStartedEventAttributes)
      .map((e) => decode((e.userMetadata as temporal.api.sdk.v1.IUserMetadata | null)?.summary)),
  );
  expect(timerSummaries).toEqual(expect.arrayContaining([expect.stringMatching(/^公示期 public notice ends /)]));
});

test('the raw history, read without the codec, holds no plaintext phone, e-mail or name from the form', async () => {
  const callId = await openCall(stack);
  const pilotId = await registerPilot(stack, callId);
  await submit(stack, pilotId);
  const raw = new Client({ connection: stack.client.connection, namespace: 'default' }); // no codec
  const history = await raw.workflow.getHandle(pilotId).fetchHistory();
  const text = JSON.stringify(history);
  const payloadTexts = [...text.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)].map((m) =>
    Buffer.from(m[1]!, 'base64').toString('utf8'),
  );
  for (const secret of [
    '13800138000',
    '13912345678',
    '13800138000@zjkx.example.org',
    '王建国',
    '李红梅',
    'head@zjkx.test',
    '王主任',
  ]) {
    expect([secret, text.includes(secret)]).toEqual([secret, false]);
    expect([secret, payloadTexts.some((p) => p.includes(secret))]).toEqual([secret, false]);
  }
  // With the codec the submission reads in full: the form by its hash (patch 'slim-history'), the
  // form itself in the database under that hash.
  const submitted = history.events!.find((e) => e.workflowExecutionUpdateAcceptedEventAttributes)!;
  const args = (await decode(
    submitted.workflowExecutionUpdateAcceptedEventAttributes!.acceptedRequest!.input!.args!.payloads![0],
  )) as { formHash: string; themes: string[]; form?: unknown };
  expect(args.formHash).toMatch(/^[0-9a-f]{64}$/);
  expect(args.form).toBeUndefined();
  const stored = await stack.db.applicationForm.findUniqueOrThrow({ where: { sha256: args.formHash } });
  expect((stored.form as { basic: { applicantHead: { mobile: string } } }).basic.applicantHead.mobile).toBe(
    '13800138000',
  );
});

test('the codec endpoint decodes for auditors only, and answers the Web UI’s preflight', async () => {
  const [encoded] = await codec.encode([defaultPayloadConverter.toPayload({ mobile: '13800138000' })]);
  const body = {
    payloads: [
      {
        metadata: Object.fromEntries(
          Object.entries(encoded!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
        ),
        data: Buffer.from(encoded!.data!).toString('base64'),
      },
    ],
  };
  const decoded = await call<{ payloads: { data: string }[] }>(stack, 'POST', '/codec/decode', body, { as: 'auditor' });
  expect(decoded.status).toBe(200);
  expect(JSON.parse(Buffer.from(decoded.body.payloads[0]!.data, 'base64').toString('utf8'))).toEqual({
    mobile: '13800138000',
  });
  expect((await call(stack, 'POST', '/codec/decode', body, { as: 'staff' })).status).toBe(403);
  expect((await call(stack, 'POST', '/codec/decode', body, { as: null })).status).toBe(401);

  const preflight = await fetch(`${stack.baseUrl}/codec/decode`, {
    method: 'OPTIONS',
    headers: { origin: 'http://127.0.0.1:8233', 'access-control-request-method': 'POST' },
  });
  expect(preflight.status).toBe(204);
  expect(preflight.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
  expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
  const stranger = await fetch(`${stack.baseUrl}/codec/decode`, {
    method: 'OPTIONS',
    headers: { origin: 'http://evil.test' },
  });
  expect(stranger.headers.get('access-control-allow-origin')).toBeNull();

  // Rotation: a payload sealed with an older key still opens.
  const old = new AesGcmCodec({ current: 'fixture-old', keys: TEST_CODEC_KEYS.keys });
  const [sealedOld] = await old.encode([defaultPayloadConverter.toPayload('older')]);
  expect(defaultPayloadConverter.fromPayload((await codec.decode([sealedOld!]))[0]!)).toBe('older');
});

test('the audit table has one row per decision and automatic action, linked to the run, and exports as CSV', async () => {
  const callId = await openCall(stack, { financeConfirmationWithin: '1s', overdueReminderEvery: '1h' });
  const { pilotId } = await pilotInProgress(stack, callId);
  await act(stack, pilotId, 'midterm-report', { reference: 'm.pdf' });
  await act(stack, pilotId, 'midterm-evaluation', { outcome: 'failed', reason: '进度滞后' }, { as: 'reviewer' });
  await waitUntil(
    async () => (await stack.db.auditEvent.count({ where: { pilotId, step: { startsWith: 'notice:' } } })) >= 3,
  );

  const rows = await stack.db.auditEvent.findMany({ where: { pilotId }, orderBy: { id: 'asc' } });
  const steps = rows.map((r) => r.step);
  expect(steps).toEqual(
    expect.arrayContaining([
      'registered',
      'review-decided:0',
      'instruction-issued:first',
      'first-tranche-issued',
      'midterm-evaluated',
      'tranche-withheld:tail',
      'tail-withheld',
      `notice:${pilotId}:instruction:first`,
      `notice:${pilotId}:withheld:tail`,
    ]),
  );
  expect(steps.some((s) => s.startsWith(`notice:${pilotId}:finance-confirmation-first:overdue`))).toBe(true);
  expect(new Set(steps).size).toBe(steps.length);
  const evaluated = rows.find((r) => r.step === 'midterm-evaluated')!;
  expect(evaluated).toMatchObject({ actorId: 'expert-panel', actorRole: 'reviewer', reason: '进度滞后' });
  expect(evaluated.updateId).toMatch(/^evaluateMidterm:/);
  expect(rows.every((r) => r.runId.length > 0 && r.activityId)).toBe(true);

  const csv = await call<string>(stack, 'GET', `/audit?callId=${callId}&format=csv`, undefined, { as: 'auditor' });
  expect(csv.status).toBe(200);
  expect(csv.contentType).toMatch(/text\/csv/);
  const lines = csv.body
    .replace(/^\uFEFF/, '')
    .trim()
    .split('\r\n');
  expect(lines[0]).toBe(
    'occurred_at_utc,occurred_at_beijing,pilot_id,step,phase,actor_id,actor_role,reason,run_id,activity_id,update_id',
  );
  expect(lines).toHaveLength(rows.length + 1);
  expect(lines.find((l) => l.includes(',midterm-evaluated,'))).toContain('expert-panel,reviewer,进度滞后');
  const json = await call<{ items: unknown[] }>(stack, 'GET', `/audit?pilotId=${pilotId}`, undefined, {
    as: 'auditor',
  });
  expect(json.body.items).toHaveLength(rows.length);
  expect((await call(stack, 'GET', `/audit?pilotId=${pilotId}`, undefined, { as: 'finance' })).status).toBe(403);
});
