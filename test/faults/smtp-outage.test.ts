/**
 * The SMTP server is unreachable while pilots go from approval to in progress and one is withdrawn.
 *
 * Design: a real SMTP server (test/support/smtp.ts) behind a TCP proxy; the stack's outbox relay is
 * pointed at the proxy (`startStack({ smtpUrl })`) and the proxy is cut with TCP resets before the
 * first notice exists, so every delivery attempt meets a real network failure (the connection is
 * accepted and reset) until the proxy is restored. The stack's own SMTP server goes unused; the
 * mail is asserted on the server behind the proxy.
 *
 * The lifecycle must not wait for mail: phases, ledger and audit rows advance at once, and the
 * notices pile up in the outbox (failed/pending, attempts > 1). Once SMTP is back every message is
 * delivered, once, with the Message-ID of its key.
 */
import { messageIdFor } from '../../lib/mailer';
import { act, approvedPilot, finance, live, openCall, waitForPhase } from '../support/pilots';
import { call, startStack, type Stack } from '../support/stack';
import {
  eventually,
  mailDelivery,
  mapLimit,
  recordFigures,
  sleep,
  startSmtpBehindProxy,
  type ProxiedSmtp,
} from './support';

const PILOTS = 4;
const NOTICE_MS = 2000;
const MIN_OUTAGE_MS = 12_000;
const FROM = 'reform-office@test.invalid';

let mail: ProxiedSmtp;
let stack: Stack;
beforeAll(async () => {
  mail = await startSmtpBehindProxy();
  // Cut before the stack exists: not one notice can slip through.
  mail.proxy.cut({ reset: true });
  stack = await startStack({ smtpUrl: mail.url });
}, 60_000);
afterAll(async () => {
  mail?.proxy.restore();
  await stack?.stop();
  await mail?.close();
}, 60_000);

test('without SMTP the lifecycle goes on and notices pile up; once it is back each is delivered once', async () => {
  const outageStart = Date.now();
  const callId = await openCall(stack, { publicNoticePeriod: `${NOTICE_MS}ms` });
  const pilotIds = await mapLimit(Array.from({ length: PILOTS }), PILOTS, () => approvedPilot(stack, callId));

  // Approval → public notice → first tranche instructed → in progress, as fast as without an outage.
  for (const pilotId of pilotIds) {
    const approvedAt = Date.parse((await live(stack, pilotId)).review!.at);
    const started = await waitForPhase(stack, pilotId, 'in_progress', 15_000);
    expect(started.tranches?.first.status).toBe('issued');
    expect(Date.parse(started.startedWorkAt!) - approvedAt).toBeLessThan(NOTICE_MS + 5000);
  }
  const ledger = await stack.db.ledgerEntry.findMany({ where: { pilotId: { in: pilotIds } } });
  expect(ledger.map((e) => [e.pilotId, e.tranche, e.kind, e.status]).sort()).toEqual(
    pilotIds.map((id) => [id, 'first', 'instruction', 'issued']).sort(),
  );
  for (const step of ['public-notice-passed', 'instruction-issued:first', 'first-tranche-issued', 'work-started']) {
    await eventually(
      async () => (await stack.db.auditEvent.count({ where: { pilotId: { in: pilotIds }, step } })) === PILOTS,
      10_000,
      `audit rows ${step}`,
    );
  }

  // Finance acts without mail too.
  const [confirmed, withdrawn, ...others] = pilotIds as [string, string, ...string[]];
  const confirmation = await act(stack, confirmed, 'tranches/first/confirmation', { reference: 'BANK-S1' }, finance);
  expect(confirmation.tranches?.first.status).toBe('confirmed');

  // A withdrawal during the outage is answered at once: its notices are only queued.
  const asked = Date.now();
  const withdrawal = await call(stack, 'POST', `/pilots/${withdrawn}/withdrawal`, { reason: '试点单位主动申请退出' });
  const withdrawalAnswerMs = Date.now() - asked;
  expect(withdrawal.status).toBe(200);
  expect(withdrawalAnswerMs).toBeLessThan(2000);
  expect(withdrawal.body).toMatchObject({
    phase: 'withdrawn',
    tranches: { first: { status: 'issued' }, tail: { status: 'withheld' } },
  });
  expect(
    (await stack.db.ledgerEntry.findMany({ where: { pilotId: withdrawn }, orderBy: { id: 'asc' } })).map((e) => [
      e.tranche,
      e.kind,
    ]),
  ).toEqual([
    ['first', 'instruction'],
    ['tail', 'withholding'],
  ]);
  expect(await stack.db.auditEvent.count({ where: { pilotId: withdrawn, step: 'withdrawn' } })).toBe(1);

  // What the outage leaves: every notice queued, none delivered, each tried more than once.
  const expectedKeys = [
    ...pilotIds.map((id) => `${id}:instruction:first`),
    `${withdrawn}:withheld:tail`,
    `${withdrawn}:instruction-open:first`,
  ].sort();
  const piled = await eventually(
    async () => {
      const rows = await stack.db.outboxMessage.findMany({ orderBy: { id: 'asc' } });
      const keys = rows.map((r) => r.key).sort();
      const all = expectedKeys.every((k) => keys.includes(k));
      return all && rows.every((r) => r.attempts >= 3) && rows;
    },
    20_000,
    'every notice queued and tried more than once',
  );
  expect(piled.map((r) => r.key).sort()).toEqual(expectedKeys);
  // A longer outage than the retries need to show: the relay keeps failing and retrying.
  await sleep(Math.max(0, MIN_OUTAGE_MS - (Date.now() - outageStart)));
  for (const pilotId of others) expect((await live(stack, pilotId)).phase).toBe('in_progress');

  // Just before SMTP comes back: every message still undelivered, the failures on record.
  const atRestore = await stack.db.outboxMessage.findMany({ orderBy: { id: 'asc' } });
  expect(atRestore.map((r) => r.key).sort()).toEqual(expectedKeys);
  for (const row of atRestore) {
    expect(['failed', 'pending', 'sending']).toContain(row.status);
    expect(row.sentAt).toBeNull();
    expect(row.attempts).toBeGreaterThan(1);
    // A failed attempt is recorded with the network error that failed it.
    if (row.status === 'failed') expect(row.lastError).toBeTruthy();
  }
  expect(atRestore.filter((r) => r.status === 'failed').length).toBeGreaterThan(0);
  expect(mail.smtp.received).toHaveLength(0);
  // The relay did reach for the server: its connections were accepted and reset by the proxy.
  const connectionsResetDuringOutage = mail.proxy.accepted();
  expect(connectionsResetDuringOutage).toBeGreaterThan(atRestore.length);
  const maxAttemptsDuringOutage = Math.max(...atRestore.map((r) => r.attempts));

  mail.proxy.restore();
  const restoredAt = Date.now();
  const outageSeconds = (restoredAt - outageStart) / 1000;

  await eventually(
    async () => (await stack.db.outboxMessage.findMany()).every((r) => r.status === 'sent'),
    30_000,
    'every notice delivered',
    100,
  );
  const drainSeconds = (Date.now() - restoredAt) / 1000;
  // Nothing more arrives later (no second copy from a retry that was still under way).
  await sleep(2000);

  const delivery = await mailDelivery({ db: stack.db, smtp: mail.smtp });
  expect(delivery.byKey.map((k) => k.key).sort()).toEqual(expectedKeys);
  for (const message of delivery.byKey) {
    const messageId = messageIdFor(message.key, FROM);
    expect(message).toMatchObject({ status: 'sent', copies: 1, messageId, messageIds: [messageId] });
  }
  expect(delivery.unmatched).toBe(0);
  expect(delivery.duplicates).toBe(0);
  expect(mail.smtp.received).toHaveLength(expectedKeys.length);
  // Each key's Message-ID appears in exactly one received mail.
  for (const key of expectedKeys) {
    const header = `Message-ID: ${messageIdFor(key, FROM)}`;
    expect(mail.smtp.received.filter((m) => m.raw.includes(header))).toHaveLength(1);
  }
  // Finance learns of the open instruction of the withdrawn pilot.
  expect(
    mail.smtp.received.filter(
      (m) => m.to.includes('finance@reform.test') && m.subject.includes('请处理拨款指令') && m.text.includes(withdrawn),
    ),
  ).toHaveLength(1);

  recordFigures('smtp-outage', {
    pilots: PILOTS,
    outageSeconds,
    messagesQueued: atRestore.length,
    maxAttemptsDuringOutage,
    connectionsResetDuringOutage,
    drainSeconds,
    withdrawalAnswerMs,
  });
}, 120_000);
