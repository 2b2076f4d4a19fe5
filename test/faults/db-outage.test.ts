/**
 * The database goes away under the worker for 30 s while first-tranche instructions come due for
 * several pilots. The worker's activities and the outbox relay reach PostgreSQL through a TCP proxy
 * that the test cuts (the shared server itself never stops); the API and the test's own checks
 * (`stack.db`) stay direct.
 *
 * While cut: the API still answers every pilot's live state from Temporal, no tranche shows as
 * issued (no ledger row can be written), and finance cannot confirm what has not been instructed.
 * After restore: one payment row per pilot with the amount of its state, every pilot in progress,
 * one outbox row per key and every notice delivered once.
 */
import { approvedPilot, finance, live, openCall, type PilotView } from '../support/pilots';
import { call, type Stack } from '../support/stack';
import type { TcpProxy } from '../support/tcp-proxy';
import { eventually, mailDelivery, mapLimit, recordFigures, sleep, startStackBehindDatabaseProxy } from './support';

const PILOTS = 8;
const CUT_MS = 30_000;
/** Long enough for all approvals to finish before the first notice ends (they run in parallel). */
const NOTICE = '15s';

let stack: Stack;
let proxy: TcpProxy;
beforeAll(async () => {
  ({ stack, proxy } = await startStackBehindDatabaseProxy());
}, 60_000);
afterAll(async () => {
  // A failed assertion during the cut must not leave the worker without its database at shutdown.
  proxy?.restore();
  await stack?.stop();
  await proxy?.close();
}, 60_000);

test('30 s without the database while instructions come due: nothing issued without its ledger row; afterwards an exact ledger and every notice once', async () => {
  const callId = await openCall(stack, { publicNoticePeriod: NOTICE });
  // Odd amounts: the first tranche rounds down to the fen, the tail takes the remainder.
  const amounts = Array.from({ length: PILOTS }, (_, i) => 300_000_00 + (i + 1) * 1_234_567);
  const pilotIds = await mapLimit(amounts, PILOTS, (amountFen) => approvedPilot(stack, callId, amountFen));

  const approved = await Promise.all(pilotIds.map((id) => live(stack, id)));
  for (const state of approved) expect(state.phase).toBe('public_notice');
  const ends = approved.map((s) => Date.parse(s.publicNotice!.endsAt));
  const firstEnd = Math.min(...ends);
  const lastEnd = Math.max(...ends);
  // The approvals must all be done (and recorded) well before the first notice ends, or the cut
  // would not fall where the instructions come due.
  expect(firstEnd - Date.now()).toBeGreaterThan(1500);
  await sleep(firstEnd - Date.now() - 1000);

  const acceptedBefore = proxy.accepted();
  proxy.cut();
  const cutAt = Date.now();

  // During the cut: reads keep working and nothing is issued without its ledger row.
  let gets = 0;
  let maxGetMs = 0;
  let probedConfirmation = false;
  while (Date.now() - cutAt < CUT_MS) {
    for (const pilotId of pilotIds) {
      const asked = Date.now();
      const answer = await call<PilotView>(stack, 'GET', `/pilots/${pilotId}`);
      maxGetMs = Math.max(maxGetMs, Date.now() - asked);
      gets += 1;
      expect(answer.status).toBe(200);
      const first = answer.body.tranches?.first;
      if (first?.status === 'issued') {
        // Never expected while cut (the row cannot be written), but this is the rule itself.
        expect(await stack.db.ledgerEntry.count({ where: { pilotId, tranche: 'first' } })).toBe(1);
      }
      expect(first?.status ?? 'pending').toBe('pending');
    }
    expect(await stack.db.ledgerEntry.count()).toBe(0);
    // Once a notice has ended, finance is refused at once: there is no instruction to confirm yet.
    if (!probedConfirmation && Date.now() > lastEnd + 500) {
      const early = await call(
        stack,
        'POST',
        `/pilots/${pilotIds[0]}/tranches/first/confirmation`,
        { reference: 'BANK-TOO-EARLY' },
        finance,
      );
      expect(early.status).toBe(409);
      expect(early.body.code).toBe('TRANCHE_NOT_ISSUED');
      probedConfirmation = true;
    }
    await sleep(1000);
  }
  // Every notice ended while the database was away: all instructions came due during the cut, and
  // the workflows had moved on to them (the tranches exist in state, still pending).
  expect(lastEnd).toBeLessThan(Date.now());
  expect(probedConfirmation).toBe(true);
  for (const pilotId of pilotIds) {
    expect((await live(stack, pilotId)).tranches?.first.status).toBe('pending');
  }
  // The worker kept trying: connections it opened were refused by the cut proxy.
  const refusedDuringCut = proxy.accepted() - acceptedBefore;
  expect(refusedDuringCut).toBeGreaterThan(0);

  proxy.restore();
  const restoredAt = Date.now();
  const cutSeconds = (restoredAt - cutAt) / 1000;

  const started = await eventually(
    async () => {
      const states = await Promise.all(pilotIds.map((id) => live(stack, id)));
      return states.every((s) => s.phase === 'in_progress') && states;
    },
    60_000,
    'every pilot in progress after the restore',
    100,
  );
  const restoreToAllInProgressSeconds = (Date.now() - restoredAt) / 1000;

  // The exact ledger: one payment row per pilot, its amount the state's first tranche.
  const ledger = await stack.db.ledgerEntry.findMany({ orderBy: { id: 'asc' } });
  expect(ledger).toHaveLength(PILOTS);
  for (const [i, state] of started.entries()) {
    // 50% (the default share) rounded down to the fen.
    expect(state.tranches!.first).toMatchObject({ status: 'issued', amountFen: Math.floor(amounts[i]! / 2) });
    expect(state.tranches!.first.amountFen + state.tranches!.tail.amountFen).toBe(amounts[i]);
    expect(ledger.filter((e) => e.pilotId === state.pilotId)).toEqual([
      expect.objectContaining({
        tranche: 'first',
        purpose: 'payment',
        kind: 'instruction',
        status: 'issued',
        amountFen: state.tranches!.first.amountFen,
      }),
    ]);
  }
  expect(ledger.reduce((sum, e) => sum + e.amountFen, 0)).toBe(
    started.reduce((sum, s) => sum + s.tranches!.first.amountFen, 0),
  );
  // The rows of the pilots follow (written by the step after the instruction).
  await eventually(
    async () => (await stack.db.pilot.count({ where: { id: { in: pilotIds }, phase: 'in_progress' } })) === PILOTS,
    20_000,
    'every pilot row in progress',
  );
  expect(
    await stack.db.auditEvent.count({ where: { pilotId: { in: pilotIds }, step: 'instruction-issued:first' } }),
  ).toBe(PILOTS);

  // The outbox: one row per key, every one delivered, each Message-ID received exactly once. The
  // outbox was empty when the cut began (no notice is due before the instructions), so no message
  // was between SMTP acceptance and its "sent" update when the relay lost the database.
  await eventually(
    async () => {
      const rows = await stack.db.outboxMessage.findMany();
      return rows.length >= PILOTS && rows.every((r) => r.status === 'sent');
    },
    30_000,
    'every outbox message sent',
  );
  const restoreToAllMailSentSeconds = (Date.now() - restoredAt) / 1000;
  const rows = await stack.db.outboxMessage.findMany({ orderBy: { id: 'asc' } });
  const keys = rows.map((r) => r.key);
  expect(new Set(keys).size).toBe(keys.length);
  expect(keys.filter((k) => k.endsWith(':instruction:first')).sort()).toEqual(
    pilotIds.map((id) => `${id}:instruction:first`).sort(),
  );
  const delivery = await mailDelivery(stack);
  for (const message of delivery.byKey) {
    expect(message).toMatchObject({ status: 'sent', copies: 1, messageIds: [message.messageId] });
  }
  expect(delivery.unmatched).toBe(0);
  expect(delivery.duplicates).toBe(0);
  for (const pilotId of pilotIds) {
    expect(
      stack.smtp.received.filter(
        (m) => m.to.includes('finance@reform.test') && m.subject.includes('拨款指令') && m.text.includes(pilotId),
      ),
    ).toHaveLength(1);
  }

  recordFigures('db-outage', {
    pilots: PILOTS,
    cutSeconds,
    restoreToAllInProgressSeconds,
    restoreToAllMailSentSeconds,
    connectionsRefusedDuringCut: refusedDuringCut,
    getsDuringCut: gets,
    maxGetMsDuringCut: maxGetMs,
    messages: rows.length,
  });
}, 180_000);
