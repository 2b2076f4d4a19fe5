/**
 * No 500 from input: JSON nested far deeper than any form (10,000 levels) at every write endpoint
 * gets a 4xx problem, a body over the size limit 413, NULs deep in a body 422; and an Update sent
 * by another Temporal client with a deeply nested payload is refused by the workflow's validator
 * (JSON_TOO_DEEP), not by a stack overflow.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MAX_JSON_DEPTH, nestedDeeperThan, nulPath } from '../domain/json-limits';
import { staffUpdates } from '../workflows/pilot/messages';
import { pdfBytes, submissionBody } from './support/application';
import { quietHistory } from './support/history';
import { live, openCall, registerPilot } from './support/pilots';
import { call, startStack, type Stack } from './support/stack';

const DEPTH = 10_000;
/** `{"a":{"a":…1…}}` as text: JSON.stringify itself would overflow on such a value. */
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

interface ProblemBody {
  code?: string;
  message?: string;
  messageEn?: string;
}

test('the limits themselves: iterative, exact at the boundary', () => {
  let value: unknown = 'x\u0000';
  for (let i = 0; i < 100_000; i++) value = { a: value };
  expect(nestedDeeperThan(value)).toBe(true);
  expect(nulPath(value)).toBe(Array(100_000).fill('a').join('.'));
  const atLimit = JSON.parse(deepObject(MAX_JSON_DEPTH)) as unknown;
  expect(nestedDeeperThan(atLimit)).toBe(false);
  expect(nestedDeeperThan(JSON.parse(deepObject(MAX_JSON_DEPTH + 1)))).toBe(true);
  expect(nestedDeeperThan(JSON.parse(deepArray(MAX_JSON_DEPTH + 1)))).toBe(true);
  expect(nulPath({ a: ['ok', { b: 'no\u0000' }] })).toBe('a.1.b');
  expect(nulPath({ a: 'fine' })).toBeNull();
});

test('10,000 levels of JSON at every write endpoint: 4xx problem+json, never 5xx', async () => {
  const callId = await openCall(stack);
  const pilotId = await registerPilot(stack, callId);
  const before = await quietHistory(stack.client, pilotId);
  const writes = stack.endpoints.filter((e) => e.write);
  expect(writes.length).toBeGreaterThanOrEqual(18);
  const seen: string[] = [];

  for (const endpoint of writes) {
    const path = endpoint.path.replace(':pilotId', pilotId).replace(':tranche', 'first');
    for (const text of [deepObject(DEPTH), deepArray(DEPTH)]) {
      const payload = endpoint.multipart ? submissionBody(text, pdfBytes()) : text;
      const answer = await call<ProblemBody>(stack, 'POST', path, payload);
      seen.push(`${path} ${answer.status} ${answer.body.code}`);
      expect([path, answer.status]).toEqual([path, 400]);
      expect(answer.contentType).toMatch(/application\/problem\+json/);
      expect(answer.body.code).toBe('JSON_TOO_DEEP');
      expect(answer.body.message).toMatch(/嵌套/);
      expect(answer.body.messageEn).toMatch(/nested too deeply/);
    }
    // The multipart endpoint, sent JSON instead: every JSON body is measured before routing.
    if (endpoint.multipart) {
      const answer = await call<ProblemBody>(stack, 'POST', path, deepObject(DEPTH));
      expect([path, answer.status, answer.body.code]).toEqual([path, 400, 'JSON_TOO_DEEP']);
    }
  }
  // Nothing reached the workflow.
  expect((await quietHistory(stack.client, pilotId)).eventCount).toBe(before.eventCount);
  expect(seen.length).toBe(writes.length * 2);
}, 60_000);

test('a body over the size limit is 413, a NUL deep inside one 422', async () => {
  const callId = await openCall(stack);
  const pilotId = await registerPilot(stack, callId);
  const huge = JSON.stringify({ reason: 'x'.repeat(5 * 1024 * 1024) });
  const tooLarge = await call<ProblemBody>(stack, 'POST', `/pilots/${pilotId}/withdrawal`, huge);
  expect([tooLarge.status, tooLarge.body.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);

  let nested: unknown = 'a\u0000b';
  for (let i = 0; i < MAX_JSON_DEPTH - 1; i++) nested = { n: nested };
  const withNul = await call<ProblemBody & { errors?: { path: string }[] }>(
    stack,
    'POST',
    `/pilots/${pilotId}/withdrawal`,
    { reason: nested },
  );
  expect([withNul.status, withNul.body.code]).toEqual([422, 'VALIDATION_FAILED']);
  expect(withNul.body.errors?.[0]?.path).toBe(['reason', ...Array(MAX_JSON_DEPTH - 1).fill('n')].join('.'));
});

test('a deep Update from another client is refused by the validator (JSON_TOO_DEEP); the pilot goes on', async () => {
  const callId = await openCall(stack);
  const pilotId = await registerPilot(stack, callId);
  // As deep as the client's own JSON.stringify can send; far deeper than the limit.
  let reason: unknown = '退出';
  for (let i = 0; i < 2000; i++) reason = { r: reason };
  const handle = stack.client.workflow.getHandle(pilotId);
  const refused = await handle
    .executeUpdate(staffUpdates.withdraw, {
      args: [{ reason, actor: { id: 'other-client', role: 'staff' }, requestedAt: new Date().toISOString() }],
      updateId: `deep-${pilotId}`,
    } as never)
    .then(
      () => null,
      (error: unknown) => error,
    );
  expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (refused as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe('JSON_TOO_DEEP');
  // The workflow is untouched and still answers through the API.
  expect((await live(stack, pilotId)).phase).toBe('registered');
  const withdrawn = await call<{ phase: string }>(stack, 'POST', `/pilots/${pilotId}/withdrawal`, { reason: '退出' });
  expect([withdrawn.status, withdrawn.body.phase]).toEqual([200, 'withdrawn']);
});
