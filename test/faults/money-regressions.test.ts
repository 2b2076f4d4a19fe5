/**
 * Money under faults (issue 9): each test here fails on the code before it (commit 94271df), and
 * says why next to it.
 *
 * The worker (activities and outbox relay) reaches the database through a TCP proxy the tests can
 * cut; the API and `stack.db` stay direct.
 */
import { randomInt } from 'node:crypto';
import { createActivities } from '../../activities';
import type { PilotState } from '../../domain/pilot';
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
  registerPilot,
  waitForPhase,
  waitUntil,
} from '../support/pilots';
import { call, startStack, type Stack } from '../support/stack';
import { proxiedUrl, startTcpProxy, targetOf, type TcpProxy } from '../support/tcp-proxy';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';
import { directPg, eventually, mapLimit, quietActivityEnvironment, sleep } from './support';

let stack: Stack;
let proxy: TcpProxy;
let worker: WorkerProcess;
beforeAll(async () => {
  // The product's worker process (worker/main.ts: activities and outbox relay), as operators run
  // it, on the stack's database through the proxy; the stack itself runs only the API (and its
  // SMTP server). Test a cuts a connection in the middle of a transaction: test/faults/
  // db-connections.test.ts shows the pool survives that.
  stack = await startStack({ worker: false });
  proxy = await startTcpProxy({ target: targetOf(stack.databaseUrl) });
  worker = await startWorkerProcess({
    TASK_QUEUE: stack.taskQueue,
    DATABASE_URL: proxiedUrl(stack.databaseUrl, proxy.port),
    SMTP_URL: stack.smtp.url,
    MAIL_FROM: 'reform-office@test.invalid',
    OUTBOX_POLL_INTERVAL: '100ms',
    OUTBOX_RETRY_MAX: '1s',
  });
}, 90_000);
afterAll(async () => {
  proxy?.restore();
  await worker?.stop();
  await stack?.stop();
  await proxy?.close();
}, 60_000);

const FINANCE_USER = { id: 'cashier-zhang', role: 'finance' as const };
const activities = () => createActivities({ db: stack.db });

describe('a. lost confirmation', () => {
  /**
   * Before issue 9 the workflow marked the tranche `issued` *before* writing its ledger row. While
   * that write was delayed, GET showed the tranche issued and finance's confirmation was accepted;
   * the confirmation's ledger UPDATE then matched no row and was silently lost (the row, written
   * later, stayed `issued` for ever). Here, during the delay, the old code shows `issued`, so the
   * first expectation fails (and its guard would have accepted the confirmation instead of 409).
   *
   * Where the cut falls: cutting "just before the notice ends" would stop the worker at the step
   * before the instruction (`record('public-notice-passed')`), where old and new code both still
   * show `pending`. So the test holds a table lock on `ledger_entry` (directly, not through the
   * proxy) until the worker's INSERT of the payment row is seen waiting on it in pg_locks,
   * then cuts the worker's proxy under that very write and releases the lock: the write dies with
   * its connection (its transaction never commits) and every retry is refused for ~5 s.
   */
  test('a delayed payment-instruction write: not issued and not confirmable until its ledger row exists', async () => {
    const callId = await openCall(stack, { publicNoticePeriod: '3s' });
    const pilotId = await approvedPilot(stack, callId);

    const lock = directPg(stack.databaseUrl);
    await lock.connect();
    try {
      await lock.query('BEGIN');
      // SHARE mode: reads go on, inserts and updates wait.
      await lock.query('LOCK TABLE ledger_entry IN SHARE MODE');
      // pg_locks, not pg_stat_activity: inside a transaction the latter is a snapshot taken at
      // its first read, the former is live.
      await eventually(
        async () => {
          const { rows } = await lock.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'ledger_entry'::regclass AND NOT granted`,
          );
          return rows[0]!.n > 0;
        },
        15_000,
        'the payment-instruction write waiting on the ledger',
        20,
      );
      proxy.cut();
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      await lock.end();
    }
    const cutAt = Date.now();

    let checks = 0;
    while (Date.now() - cutAt < 5000) {
      const during = await live(stack, pilotId);
      expect(during.phase).toBe('public_notice');
      expect(during.tranches?.first).toMatchObject({ status: 'pending', inFlight: 'instruct', issuedAt: null });
      const early = await call(
        stack,
        'POST',
        `/pilots/${pilotId}/tranches/first/confirmation`,
        { reference: 'BANK-EARLY' },
        finance,
      );
      expect(early.status).toBe(409);
      expect(early.body.code).toBe('TRANCHE_NOT_ISSUED');
      expect(await ledgerOf(stack, pilotId)).toEqual([]);
      checks += 1;
      await sleep(500);
    }
    expect(checks).toBeGreaterThanOrEqual(3);
    proxy.restore();

    const started = await waitForPhase(stack, pilotId, 'in_progress', 30_000);
    expect(started.tranches?.first).toMatchObject({ status: 'issued', inFlight: null });
    const rows = await ledgerOf(stack, pilotId);
    expect(rows).toEqual([
      expect.objectContaining({ tranche: 'first', kind: 'instruction', status: 'issued', confirmationRef: null }),
    ]);

    const confirmed = await call(
      stack,
      'POST',
      `/pilots/${pilotId}/tranches/first/confirmation`,
      { reference: 'BANK-LOST-1' },
      finance,
    );
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({
      tranches: { first: { status: 'confirmed', confirmation: { reference: 'BANK-LOST-1', by: FINANCE_USER } } },
    });
    expect(await ledgerOf(stack, pilotId)).toEqual([
      expect.objectContaining({
        tranche: 'first',
        kind: 'instruction',
        status: 'confirmed',
        confirmationRef: 'BANK-LOST-1',
        confirmedBy: 'cashier-zhang',
        amountFen: started.tranches!.first.amountFen,
      }),
    ]);
  }, 60_000);

  /**
   * Before issue 9, `recordTrancheConfirmation` was an updateMany that returned quietly when it
   * matched no row: the confirmation was lost without a trace. Now it fails loudly and is never
   * retried. On the old code the promise resolves, so `rejects` fails.
   */
  test('the confirmation activity fails loudly (LEDGER_MISMATCH, non-retryable) when no instruction matches', async () => {
    const { recordTrancheConfirmation } = activities();
    const env = quietActivityEnvironment({ attempt: 1 });

    // A registered pilot with nothing in the ledger.
    const callId = await openCall(stack);
    const registered = await registerPilot(stack, callId);
    const confirmation = (pilotId: string, tranche: 'first' | 'tail', amountFen: number) => ({
      pilotId,
      tranche,
      reference: 'BANK-NOWHERE',
      confirmedBy: FINANCE_USER,
      at: new Date().toISOString(),
      amountFen,
    });
    await expect(
      env.run(recordTrancheConfirmation, confirmation(registered, 'first', 175_000_00)),
    ).rejects.toMatchObject({
      type: 'LEDGER_MISMATCH',
      nonRetryable: true,
    });
    expect(await ledgerOf(stack, registered)).toEqual([]);

    // A pilot in progress: its tail has no row yet, and its first tranche has another amount.
    const { pilotId, state } = await pilotInProgress(stack, callId);
    const first = state.tranches!.first.amountFen;
    await expect(
      env.run(recordTrancheConfirmation, confirmation(pilotId, 'tail', state.tranches!.tail.amountFen)),
    ).rejects.toMatchObject({ type: 'LEDGER_MISMATCH', nonRetryable: true });
    await expect(env.run(recordTrancheConfirmation, confirmation(pilotId, 'first', first + 1))).rejects.toMatchObject({
      type: 'LEDGER_MISMATCH',
      nonRetryable: true,
    });
    expect(await ledgerOf(stack, pilotId)).toEqual([
      expect.objectContaining({ tranche: 'first', status: 'issued', amountFen: first, confirmationRef: null }),
    ]);
  }, 60_000);
});

describe('b. withdrawal with an open instruction', () => {
  /**
   * Before issue 9 there was no void: an instruction that finance never executed kept a withdrawn
   * pilot's workflow open for ever, and finance was never told. On the old code the finance mail
   * never comes (the wait for it times out) and the void route does not exist (404).
   */
  test('finance is told, voids it; the office is told, the workflow completes, a later confirmation is refused', async () => {
    const callId = await openCall(stack);
    const { pilotId } = await pilotInProgress(stack, callId);
    const withdrawn = await act(stack, pilotId, 'withdrawal', { reason: '试点单位主动申请退出' });
    expect(withdrawn).toMatchObject({ phase: 'withdrawn', tranches: { first: { status: 'issued' } } });

    await waitUntil(
      async () => mailsTo(stack, 'finance@reform.test', pilotId).some((m) => m.subject.includes('请处理拨款指令')),
      15_000,
      'finance mailed about the open instruction',
    );
    const handle = stack.client.workflow.getHandle(pilotId);
    expect((await handle.describe()).status.name).toBe('RUNNING');

    const reason = '试点已撤销，指令未执行';
    const voidKey = `void-${pilotId}`;
    const before = Date.now();
    const voided = await call<PilotState>(
      stack,
      'POST',
      `/pilots/${pilotId}/tranches/first/void`,
      { reason },
      { ...finance, idempotencyKey: voidKey },
    );
    expect(voided.status).toBe(200);
    expect(voided.body.tranches?.first).toMatchObject({ status: 'voided', voided: { reason, by: FINANCE_USER } });

    const [row] = await ledgerOf(stack, pilotId);
    expect(row).toMatchObject({
      tranche: 'first',
      kind: 'instruction',
      status: 'voided',
      voidedBy: 'cashier-zhang',
      voidReason: reason,
      confirmationRef: null,
    });
    expect(row!.voidedAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(row!.voidedAt!.getTime()).toBeLessThanOrEqual(Date.now());
    expect(await stack.db.auditEvent.findMany({ where: { pilotId, step: 'instruction-voided:first' } })).toEqual([
      expect.objectContaining({ reason }),
    ]);
    await waitUntil(
      async () => mailsTo(stack, 'office@reform.test', pilotId).some((m) => m.subject.includes('作废')),
      15_000,
      'the office mailed about the void',
    );

    const result = await handle.result();
    expect(result).toMatchObject({ phase: 'withdrawn', tranches: { first: { status: 'voided' } } });
    expect((await handle.describe()).status.name).toBe('COMPLETED');

    // After completion Temporal refuses any Update (the workflow's validator cannot run); the API
    // then applies the action's guard to the final state, so the answer is still TRANCHE_VOIDED.
    const late = await call(
      stack,
      'POST',
      `/pilots/${pilotId}/tranches/first/confirmation`,
      { reference: 'BANK-LATE' },
      finance,
    );
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('TRANCHE_VOIDED');
    // The void repeated with its key gets its first answer, read back from history.
    const repeated = await call<PilotState>(
      stack,
      'POST',
      `/pilots/${pilotId}/tranches/first/void`,
      { reason },
      { ...finance, idempotencyKey: voidKey },
    );
    expect(repeated.status).toBe(200);
    expect(repeated.body.tranches?.first.status).toBe('voided');
    expect((await ledgerOf(stack, pilotId)).map((e) => [e.tranche, e.status, e.confirmationRef])).toEqual([
      ['first', 'voided', null],
      ['tail', 'withheld', null],
    ]);
  }, 60_000);

  /**
   * Confirm and void of one instruction racing: exactly one wins, in the ledger and in the state.
   * On the old code there is no void (404), so the statuses are not one 200 and one 409.
   */
  test('confirm and void racing: exactly one is accepted and the ledger agrees with it', async () => {
    const callId = await openCall(stack);
    const pilots = await mapLimit([0, 1, 2], 3, async () => {
      const { pilotId } = await pilotInProgress(stack, callId);
      await act(stack, pilotId, 'withdrawal', { reason: '主动退出' });
      return pilotId;
    });
    const outcomes = await Promise.all(
      pilots.map(async (pilotId) => {
        const [confirmation, voiding] = await Promise.all([
          call(
            stack,
            'POST',
            `/pilots/${pilotId}/tranches/first/confirmation`,
            { reference: `BANK-${pilotId}` },
            finance,
          ),
          call(stack, 'POST', `/pilots/${pilotId}/tranches/first/void`, { reason: '未执行' }, finance),
        ]);
        return { pilotId, confirmation, voiding };
      }),
    );
    for (const { pilotId, confirmation, voiding } of outcomes) {
      expect([confirmation.status, voiding.status].sort()).toEqual([200, 409]);
      const winner = confirmation.status === 200 ? 'confirmed' : 'voided';
      const loser = confirmation.status === 200 ? voiding : confirmation;
      expect(typeof loser.body.code).toBe('string');
      const [row] = await ledgerOf(stack, pilotId);
      expect(row).toMatchObject(
        winner === 'confirmed'
          ? { status: 'confirmed', confirmationRef: `BANK-${pilotId}`, voidedAt: null, voidReason: null }
          : { status: 'voided', voidReason: '未执行', confirmationRef: null, confirmedAt: null },
      );
      const result = (await stack.client.workflow.getHandle(pilotId).result()) as PilotState;
      expect(result.tranches?.first.status).toBe(winner);
    }
    console.log(
      `confirm/void races: ${outcomes
        .map(
          (o) =>
            `${o.confirmation.status === 200 ? 'confirm' : 'void'} won, loser ${String((o.confirmation.status === 200 ? o.voiding : o.confirmation).body.code)}`,
        )
        .join('; ')}`,
    );
  }, 60_000);
});

describe('c. racing writes of the pilot row', () => {
  /**
   * Two steps' records racing (a retry arriving late, two handlers) must never take the row back
   * to an older state version. Before issue 9 the activity read the version, then updated without
   * a condition: when both read the old version, the one that committed last won, however old.
   * The repeated races with random delays make that interleaving happen on the old code.
   */
  test('recordPilotStep with versions N+1 and N concurrently: the row always ends at N+1', async () => {
    const callId = await openCall(stack);
    const pilotId = await registerPilot(stack, callId);
    const base = await live(stack, pilotId);
    await eventually(
      async () => (await stack.db.pilot.findUnique({ where: { id: pilotId } }))?.stateVersion === base.version,
      10_000,
      'the registration recorded',
    );
    const { recordPilotStep } = activities();
    const env = quietActivityEnvironment();
    const at = (version: number, phase: PilotState['phase']): PilotState => ({
      ...base,
      version,
      phase,
      updatedAt: new Date().toISOString(),
    });

    const ROUNDS = 30;
    let lowerFirst = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      const n = base.version + 1 + 2 * round;
      // Alternate the phases so that each round's winner is visible in the row.
      const [newer, older] =
        round % 2 ? (['under_review', 'submitted'] as const) : (['submitted', 'under_review'] as const);
      const delays = [randomInt(0, 6), randomInt(0, 6)] as const;
      if (delays[1] < delays[0]) lowerFirst += 1;
      await Promise.all([
        sleep(delays[0]).then(() => env.run(recordPilotStep, { step: `race:${round}:newer`, state: at(n + 1, newer) })),
        sleep(delays[1]).then(() => env.run(recordPilotStep, { step: `race:${round}:older`, state: at(n, older) })),
      ]);
      const row = await stack.db.pilot.findUniqueOrThrow({ where: { id: pilotId } });
      expect({ round, version: row.stateVersion, phase: row.phase }).toEqual({ round, version: n + 1, phase: newer });
    }
    // Both steps of every round were audited, whichever lost the row.
    expect(await stack.db.auditEvent.count({ where: { pilotId, step: { startsWith: 'race:' } } })).toBe(2 * ROUNDS);
    expect(lowerFirst).toBeGreaterThan(0);
  }, 60_000);

  /**
   * `closedAt` is the time of the passing acceptance decision (结项) and never moves. Before
   * issue 9 it was the `updatedAt` of whatever step was recorded last while closed: the tail's
   * confirmation after closure moved it.
   */
  test('closedAt stays the acceptance decision time when the tail is confirmed after closure', async () => {
    const callId = await openCall(stack);
    const { pilotId } = await pilotInProgress(stack, callId);
    await act(stack, pilotId, 'tranches/first/confirmation', { reference: 'BANK-C1' }, finance);
    await act(stack, pilotId, 'midterm-report', { reference: '中期报告.pdf' });
    const midterm = await act(stack, pilotId, 'midterm-evaluation', { outcome: 'passed', reason: '良好' });
    expect(midterm.tranches?.tail.status).toBe('issued');
    await act(stack, pilotId, 'final-report', FINAL_REPORT);
    const closed = await act(stack, pilotId, 'acceptance', { outcome: 'passed', reason: '验收通过' });
    expect(closed.phase).toBe('closed');
    const acceptedAt = closed.acceptances[0]!.at;

    const atClosure = await eventually(
      async () => {
        const row = await stack.db.pilot.findUnique({ where: { id: pilotId } });
        return row?.phase === 'closed' && row;
      },
      10_000,
      'the closed row',
    );
    expect(atClosure.closedAt?.toISOString()).toBe(acceptedAt);
    // The workflow waits for finance: the tail is still open.
    expect((await stack.client.workflow.getHandle(pilotId).describe()).status.name).toBe('RUNNING');

    // Later, so that the confirmation's step time differs from the acceptance's.
    await sleep(1100);
    const tail = await act(stack, pilotId, 'tranches/tail/confirmation', { reference: 'BANK-C2' }, finance);
    expect(tail.tranches?.tail.status).toBe('confirmed');
    expect(Date.parse(tail.updatedAt)).toBeGreaterThan(Date.parse(acceptedAt) + 1000);
    await stack.client.workflow.getHandle(pilotId).result();

    const after = await stack.db.pilot.findUniqueOrThrow({ where: { id: pilotId } });
    // The later step was written (its version is in the row) and closedAt did not move.
    expect(after.stateVersion).toBeGreaterThan(atClosure.stateVersion);
    expect(after.stateVersion).toBe(tail.version);
    expect(after.phase).toBe('closed');
    expect(after.closedAt?.toISOString()).toBe(acceptedAt);
  }, 60_000);
});
