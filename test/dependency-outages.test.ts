/**
 * Bounded waiting on dependencies, on real servers. With Temporal stopped, a request that needs it
 * gets 503 TEMPORAL_UNAVAILABLE with Retry-After within 2 s and readiness answers within 1 s; once
 * Temporal is back (after an outage long enough for gRPC's default backoff to have grown), the API's
 * connection answers again within a few seconds (a query also waits for the worker to reconnect). With the API's database connection refused or dropped
 * (through a TCP proxy the test controls), reads and writes get 503 DATABASE_UNAVAILABLE with
 * Retry-After, never 500, and the API recovers once the database is reachable again. A staff
 * action the workflow accepted but could not finish in time answers 202, and its repeat (same
 * Idempotency-Key) the one result.
 */
import { randomUUID } from 'node:crypto';
import { adminDatabaseUrl, eventually, recordFigures, sleep, startStackBehindDatabaseProxy } from './faults/support';
import { openCall, pilotInProgress, registerPilot } from './support/pilots';
import { startRestartableTemporal, type RestartableTemporal } from './support/restartable-temporal';
import { compressedCall, registration, startStack, uniqueId, type Stack } from './support/stack';
import { proxiedUrl, startTcpProxy, targetOf, type TcpProxy } from './support/tcp-proxy';

interface Answer {
  status: number;
  code?: string;
  retryAfter: string | null;
  ms: number;
  body: Record<string, unknown>;
}

/** A request with its latency and Retry-After header. */
async function timed(
  stack: Stack,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  idempotencyKey?: string,
): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${stack.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${stack.tokens.admin}`,
      ...(method === 'POST'
        ? { 'idempotency-key': idempotencyKey ?? randomUUID(), 'content-type': 'application/json' }
        : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = (await response.json()) as Record<string, unknown>;
  return {
    status: response.status,
    code: typeof parsed.code === 'string' ? parsed.code : undefined,
    retryAfter: response.headers.get('retry-after'),
    ms: Math.round(performance.now() - started),
    body: parsed,
  };
}

const OUTAGE_MS = 12_000;

describe('Temporal stopped', () => {
  let temporal: RestartableTemporal | undefined;
  let stack: Stack | undefined;

  beforeAll(async () => {
    temporal = await startRestartableTemporal({ label: 'dependency-outages' });
    stack = await startStack({ temporalAddress: temporal.address });
  }, 90_000);
  afterAll(async () => {
    // The stack's worker shuts down cleanly only with its server there.
    await temporal?.up();
    await stack?.stop();
    await temporal?.stop();
  }, 60_000);

  test('503 with Retry-After within 2 s, readiness within 1 s, answers again within seconds of its return', async () => {
    const s = stack!;
    const t = temporal!;
    const callId = await openCall(s);
    const pilotId = await registerPilot(s, callId);
    expect((await timed(s, 'GET', `/pilots/${pilotId}`)).status).toBe(200);

    await t.down();
    const withdrawalKey = `outage-${randomUUID()}`;
    const needsTemporal = () => [
      timed(s, 'GET', `/pilots/${pilotId}`),
      timed(s, 'POST', '/pilots', registration(callId, uniqueId('unit'))),
      timed(s, 'POST', `/pilots/${pilotId}/withdrawal`, { reason: '主动退出' }, withdrawalKey),
    ];
    const latencies: number[] = [];
    const readiness: number[] = [];
    // Right after it went, and again once the outage has lasted (gRPC backoff would have grown).
    for (const phase of ['start', 'later']) {
      if (phase === 'later') await sleep(OUTAGE_MS);
      for (const answer of await Promise.all(needsTemporal())) {
        expect([answer.status, answer.code]).toEqual([503, 'TEMPORAL_UNAVAILABLE']);
        expect(Number(answer.retryAfter)).toBeGreaterThan(0);
        expect(answer.ms).toBeLessThan(2000);
        latencies.push(answer.ms);
      }
      const ready = await timed(s, 'GET', '/health/ready');
      expect([ready.status, ready.body.temporal, ready.body.database]).toEqual([503, 'unavailable', 'ok']);
      expect(ready.ms).toBeLessThan(1000);
      readiness.push(ready.ms);
      // What needs only the database still works.
      expect((await timed(s, 'GET', `/pilots?callId=${callId}`)).status).toBe(200);
    }

    await t.up();
    const back = performance.now();
    // The API's own connection: readiness asks Temporal through it.
    await eventually(
      async () => (await timed(s, 'GET', '/health/ready')).status === 200,
      10_000,
      'readiness after Temporal returned',
      100,
    );
    const recoveryMs = Math.round(performance.now() - back);
    expect(recoveryMs).toBeLessThan(3000);
    // A query also needs the worker to have found the server again (its own reconnect).
    const probes: string[] = [];
    await eventually(
      async () => {
        const a = await timed(s, 'GET', `/pilots/${pilotId}`);
        probes.push(`${a.status}:${a.ms}`);
        return a.status === 200;
      },
      15_000,
      'the pilot readable after Temporal returned',
      100,
    );
    const queryRecoveryMs = Math.round(performance.now() - back);
    expect(queryRecoveryMs).toBeLessThan(10_000);

    // The withdrawal refused during the outage, repeated with its key, is carried out once.
    const repeated = await timed(s, 'POST', `/pilots/${pilotId}/withdrawal`, { reason: '主动退出' }, withdrawalKey);
    expect([repeated.status, repeated.body.phase]).toEqual([200, 'withdrawn']);

    recordFigures('temporal-down', {
      maxTemporal503Ms: Math.max(...latencies),
      temporal503Ms: latencies,
      readinessMs: readiness,
      outageMs: OUTAGE_MS,
      recoveryMs,
      queryRecoveryMs,
      queryProbes: probes,
    });
  }, 90_000);
});

describe('database connection refused', () => {
  let proxy: TcpProxy | undefined;
  let stack: Stack | undefined;
  const target = targetOf(adminDatabaseUrl());

  beforeAll(async () => {
    proxy = await startTcpProxy({ target });
    const port = proxy.port;
    stack = await startStack({ apiDatabaseUrl: (url) => proxiedUrl(url, port) });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await proxy?.close();
  }, 60_000);

  test('reads and writes answer 503 DATABASE_UNAVAILABLE with Retry-After, then recover', async () => {
    const s = stack!;
    const callId = await openCall(s);
    const pilotId = await registerPilot(s, callId);
    const port = proxy!.port;
    const requests = () => [
      timed(s, 'GET', `/pilots?callId=${callId}`),
      timed(s, 'GET', `/pilots/${pilotId}/ledger`),
      timed(s, 'GET', '/calls'),
      timed(s, 'POST', '/calls', compressedCall(uniqueId('call'), 600)),
    ];
    const figures: Record<string, number[]> = {};

    // Dropped: every connection is closed as soon as it is made. Refused: nothing listens.
    for (const fault of ['dropped', 'refused'] as const) {
      if (fault === 'dropped') proxy!.cut({ reset: true });
      else await proxy!.close();
      figures[fault] = [];
      for (const answer of await Promise.all(requests())) {
        expect([fault, answer.status, answer.code]).toEqual([fault, 503, 'DATABASE_UNAVAILABLE']);
        expect(Number(answer.retryAfter)).toBeGreaterThan(0);
        expect(answer.body.message).toMatch(/数据库/);
        expect(answer.body.messageEn).toMatch(/database/i);
        figures[fault].push(answer.ms);
      }
      const ready = await timed(s, 'GET', '/health/ready');
      expect([ready.status, ready.body.database, ready.body.temporal]).toEqual([503, 'unavailable', 'ok']);
      expect(ready.ms).toBeLessThan(1000);
      if (fault === 'dropped') proxy!.restore();
      else proxy = await startTcpProxy({ target, port });
      await eventually(
        async () => (await timed(s, 'GET', `/pilots/${pilotId}/ledger`)).status === 200,
        10_000,
        `reads after the database was ${fault}`,
      );
    }
    expect((await timed(s, 'GET', '/health/ready')).status).toBe(200);
    recordFigures('database-refused', { database503Ms: figures });
  }, 60_000);
});

describe('an accepted action whose result is late', () => {
  let proxy: TcpProxy | undefined;
  let stack: Stack | undefined;

  beforeAll(async () => {
    // The worker's database behind the proxy: cut, the confirmation's ledger activity cannot finish.
    ({ stack, proxy } = await startStackBehindDatabaseProxy({ updateResultMs: 1500 }));
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await proxy?.close();
  }, 60_000);

  test('answers 202 (accepted), never a failure; the repeat with its key gets the one result', async () => {
    const s = stack!;
    const callId = await openCall(s);
    const { pilotId } = await pilotInProgress(s, callId);
    const key = `late-${randomUUID()}`;
    const path = `/pilots/${pilotId}/tranches/first/confirmation`;

    proxy!.cut();
    const accepted = await timed(s, 'POST', path, { reference: 'BANK-202' }, key);
    expect([accepted.status, accepted.body.status, accepted.body.pilotId]).toEqual([202, 'accepted', pilotId]);
    expect(accepted.body.messageEn).toMatch(/same Idempotency-Key/);
    expect(accepted.ms).toBeLessThan(5000);
    // Still running: a repeat says accepted again rather than doing anything twice.
    const again = await timed(s, 'POST', path, { reference: 'BANK-202' }, key);
    expect(again.status).toBe(202);

    proxy!.restore();
    const done = await eventually(
      async () => {
        const answer = await timed(s, 'POST', path, { reference: 'BANK-202' }, key);
        return answer.status === 200 ? answer : undefined;
      },
      30_000,
      'the accepted confirmation completing',
      500,
    );
    const tranches = done.body.tranches as Record<string, { status: string; confirmation: { reference: string } }>;
    expect([tranches.first!.status, tranches.first!.confirmation.reference]).toEqual(['confirmed', 'BANK-202']);
    const ledger = await s.db.ledgerEntry.findMany({ where: { pilotId, tranche: 'first' } });
    expect(ledger.map((row) => [row.status, row.confirmationRef])).toEqual([['confirmed', 'BANK-202']]);
  }, 90_000);
});
