/**
 * Property: whatever body a client throws at a write endpoint, if it is not a valid request the
 * answer is a 4xx problem (never a 5xx) and nothing changes, in the workflow or the database.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { z } from 'zod';
import { pdfBytes, submissionBody, validForm } from './support/application';
import { quietHistory } from './support/history';
import { FINAL_REPORT, openCall, registerPilot } from './support/pilots';
import { call, compressedCall, registration, startStack, type Stack } from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** A valid body per endpoint: the fuzzer mutates these as well as inventing bodies from nothing. */
function examples(callId: string): Record<string, Record<string, unknown>> {
  return {
    '/calls': compressedCall('fuzz-call', 60),
    '/pilots': registration(callId, 'fuzz-unit'),
    'expert-scores': { expert: { id: 'e1', province: '江苏' }, score: 80, comment: '好' },
    'review-decision': { outcome: 'approved', amountFen: 350_000_00, reason: '通过' },
    objections: { reason: '异议' },
    'midterm-report': { reference: 'x.pdf' },
    'midterm-evaluation': { outcome: 'passed', reason: '好' },
    'final-report': FINAL_REPORT,
    acceptance: { outcome: 'passed', reason: '好' },
    rectification: { reference: 'x.pdf' },
    extensions: { which: 'midterm-report', until: '2099-01-01', reason: '延期' },
    withdrawal: { reason: '退出' },
    'integrity-flag': { reason: '造假' },
    confirmation: { reference: 'BANK' },
    void: { reason: '未执行' },
    reclaim: { reference: 'REPAID' },
    publicity: { note: '宣传' },
    submission: validForm('fuzz 市科协') as unknown as Record<string, unknown>,
  };
}

const mutated = (valid: Record<string, unknown>) =>
  fc
    .tuple(fc.constantFrom(...Object.keys(valid)), fc.oneof(fc.anything(), fc.constant(undefined), fc.string()))
    .map(([key, value]) => {
      const copy: Record<string, unknown> = structuredClone(valid);
      if (value === undefined) delete copy[key];
      else copy[key] = value;
      return copy;
    });

/** Everything the fuzzed requests could have touched. */
async function snapshot(pilotId: string, callId: string) {
  // Nothing in flight first, so the rows counted are the ones the history's steps wrote.
  const history = await quietHistory(stack.client, pilotId);
  const [calls, pilots, audit, ledger, outbox] = await Promise.all([
    stack.db.call.count({ where: { idempotencyKey: { startsWith: 'fuzz-' } } }),
    stack.db.pilot.count({ where: { callId } }),
    stack.db.auditEvent.count({ where: { pilotId } }),
    stack.db.ledgerEntry.count({ where: { pilotId } }),
    stack.db.outboxMessage.count({ where: { pilotId } }),
  ]);
  return { events: history.eventCount, calls, pilots, audit, ledger, outbox };
}

test('random and malformed bodies at every write endpoint get a 4xx and change nothing', async () => {
  const callId = await openCall(stack);
  const pilotId = await registerPilot(stack, callId);
  const valid = examples(callId);
  const before = await snapshot(pilotId, callId);
  const statuses = new Map<number, number>();

  // Writes that take no body (POST /calls/:callId/intake/poll) have none to fuzz.
  for (const endpoint of stack.endpoints.filter((e) => e.write && (e.body || e.multipart))) {
    const path = endpoint.path.replace(':pilotId', pilotId).replace(':tranche', 'first');
    const name =
      endpoint.path.split('/').at(-1) === 'confirmation'
        ? 'confirmation'
        : endpoint.path.startsWith('/pilots/')
          ? endpoint.path.split('/').at(-1)!
          : endpoint.path;
    const schema = (endpoint.body ?? endpoint.multipart?.schema) as z.ZodType;
    const example = valid[name];
    if (!example) throw new Error(`no example body for ${endpoint.path}`);
    const invalid = fc
      .oneof(
        fc.anything(),
        fc.object(),
        mutated(example),
        fc.json().map((text) => ({ raw: `${text}}` })),
      )
      .filter((body) => !schema.safeParse(body).success);

    await fc.assert(
      fc.asyncProperty(invalid, async (body) => {
        const raw = (body as { raw?: unknown } | null | undefined)?.raw;
        const payload = endpoint.multipart
          ? submissionBody(typeof raw === 'string' ? raw : JSON.stringify(body ?? null), pdfBytes())
          : typeof raw === 'string'
            ? raw
            : JSON.stringify(body ?? null);
        const answer = await call(stack, 'POST', path, payload, { idempotencyKey: `fuzz-${randomUUID()}` });
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        expect([path, answer.status >= 400 && answer.status < 500]).toEqual([path, true]);
        expect(answer.contentType).toMatch(/application\/problem\+json/);
        expect(typeof (answer.body as { code?: unknown }).code).toBe('string');
      }),
      { numRuns: 25 },
    );
  }

  expect(await snapshot(pilotId, callId)).toEqual(before);
  // Both kinds of refusal were exercised: unparsable JSON and invalid content.
  expect(statuses.get(400)).toBeGreaterThan(0);
  expect(statuses.get(422)).toBeGreaterThan(0);
}, 120_000);
