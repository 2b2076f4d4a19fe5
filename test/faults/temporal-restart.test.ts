/**
 * The Temporal server crashes (SIGKILL) while twenty approved pilots wait out their public notices,
 * stays away longer than the notices had left to run, and comes back on the same SQLite file. The
 * timers that came due during the outage fire after it: every pilot goes on to start its work with
 * exactly one ledger row and one queued notice for its first tranche, and state and ledger agree.
 */
import { act, live, openCall, registerPilot, submit } from '../support/pilots';
import { startRestartableTemporal, type RestartableTemporal } from '../support/restartable-temporal';
import { startStack, type Stack } from '../support/stack';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';
import {
  eventually,
  expectOneInstructionEach,
  allMailDelivered,
  mapLimit,
  readTimer,
  recordFigures,
  sleep,
} from './support';

const PILOTS = 20;
const PUBLIC_NOTICE = '4s';
/** Longer than any notice has left when the server goes down (at most PUBLIC_NOTICE). */
const OUTAGE_MS = 8000;
const MAIL_FROM = 'reform-office@test.invalid';

let temporal: RestartableTemporal | undefined;
let stack: Stack | undefined;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  temporal = await startRestartableTemporal({ label: 'faults-temporal-restart' });
  stack = await startStack({ temporalAddress: temporal.address, worker: false });
}, 90_000);

afterAll(async () => {
  for (const worker of workers) await worker.stop();
  await stack?.stop();
  await temporal?.stop();
}, 60_000);

async function startWorker(s: Stack, address: string): Promise<WorkerProcess> {
  const worker = await startWorkerProcess({
    TASK_QUEUE: s.taskQueue,
    TEMPORAL_ADDRESS: address,
    DATABASE_URL: s.databaseUrl,
    SMTP_URL: s.smtp.url,
    MAIL_FROM,
    OUTBOX_POLL_INTERVAL: '100ms',
    OUTBOX_RETRY_MAX: '1s',
    OUTBOX_LEASE: '5s',
  });
  workers.push(worker);
  return worker;
}

test('a Temporal crash longer than the public notices have left: every pilot starts its work once afterwards', async () => {
  const s = stack!;
  const server = temporal!;
  const testStart = Date.now();
  const worker = await startWorker(s, server.address);
  const callId = await openCall(s, { publicNoticePeriod: PUBLIC_NOTICE });

  const amounts = Array.from({ length: PILOTS }, (_, i) => 300_000_00 + 2_345_67 * (i + 1) + (i % 2));
  const pilotIds = await mapLimit(amounts, 8, async () => {
    const pilotId = await registerPilot(s, callId);
    await submit(s, pilotId);
    await act(s, pilotId, 'expert-scores', { expert: { id: 'expert-1', province: '江苏' }, score: 90, comment: '好' });
    return pilotId;
  });
  const decided = await mapLimit(pilotIds, PILOTS, (pilotId, i) =>
    act(s, pilotId, 'review-decision', { outcome: 'approved', amountFen: amounts[i], reason: '评审通过' }),
  );
  expect(decided.map((state) => state.phase)).toEqual(pilotIds.map(() => 'public_notice'));
  const noticeEnds = decided.map((state) => Date.parse(state.publicNotice!.endsAt));

  // Down before any notice has ended: nothing instructed yet.
  const downAt = Date.now();
  await server.down({ kill: true });
  expect(Math.min(...noticeEnds)).toBeGreaterThan(downAt);
  expect(await s.db.ledgerEntry.count()).toBe(0);

  await sleep(Math.max(0, downAt + OUTAGE_MS - Date.now()));
  // Every notice came due while the server was away.
  const upStartedAt = Date.now();
  expect(Math.max(...noticeEnds)).toBeLessThan(upStartedAt);
  expect(await s.db.ledgerEntry.count()).toBe(0);
  await server.up();
  const upAt = Date.now();

  // The API's live state (a workflow query) through the recovery: how slow it gets, how often it fails.
  const stateReads = readTimer();
  const states = await eventually(
    async () => {
      const views = await Promise.all(pilotIds.map((pilotId) => stateReads.time(() => live(s, pilotId))));
      return views.every((view) => view.phase === 'in_progress') && views;
    },
    60_000,
    `all ${PILOTS} pilots in_progress`,
    250,
  );
  const observedAllStartedAt = Date.now();
  const startedWork = states.map((state) => Date.parse(state.startedWorkAt!));
  // Nobody started work before the server was back (the timers did not fire early, nor were lost).
  expect(Math.min(...startedWork)).toBeGreaterThanOrEqual(upStartedAt);

  // Exactly one payment row per pilot, for the first tranche, as the workflow says.
  const ledger = await s.db.ledgerEntry.findMany({ orderBy: { id: 'asc' } });
  expect(ledger).toHaveLength(PILOTS);
  for (const [i, state] of states.entries()) {
    const first = state.tranches!.first;
    const tail = state.tranches!.tail;
    expect(state.approvedAmountFen).toBe(amounts[i]);
    expect({ status: first.status, inFlight: first.inFlight ?? null }).toEqual({ status: 'issued', inFlight: null });
    expect(tail.status).toBe('pending');
    expect(first.amountFen + tail.amountFen).toBe(amounts[i]);
    expect(
      ledger
        .filter((row) => row.pilotId === state.pilotId)
        .map((row) => [row.tranche, row.purpose, row.kind, row.status, row.amountFen]),
    ).toEqual([['first', 'payment', 'instruction', 'issued', first.amountFen]]);
  }
  await eventually(
    async () => (await s.db.pilot.count({ where: { id: { in: pilotIds }, phase: 'in_progress' } })) === PILOTS,
    15_000,
    'pilot rows in_progress',
  );

  const histories = await expectOneInstructionEach(s.client, pilotIds);

  // One outbox row per key, each delivered under its own Message-ID.
  const instructionKeys = pilotIds.map((pilotId) => `${pilotId}:instruction:first`).sort();
  const delivery = await allMailDelivered(s, MAIL_FROM);
  const keys = delivery.byKey.map((k) => k.key);
  expect(new Set(keys).size).toBe(keys.length);
  expect(keys.filter((key) => key.includes(':instruction:')).sort()).toEqual(instructionKeys);
  expect(delivery.unmatched).toBe(0);
  // Nothing killed a relay here: every message went out once.
  expect(delivery.duplicates).toBe(0);

  // The worker process rode out the outage (it is the only one: nothing above could have run without it).
  const workerSurvived = !worker.exited();
  expect(workerSurvived).toBe(true);
  const logs = workers.map((w) => w.output()).join('\n');
  expect(logs).not.toMatch(/LEDGER_CONFLICT|LEDGER_MISMATCH|DeterminismViolation|[Nn]ondeterminism/);

  recordFigures('temporal-restart', {
    pilots: PILOTS,
    publicNotice: PUBLIC_NOTICE,
    outageSeconds: (upAt - downAt) / 1000,
    serverAbsentSeconds: (upStartedAt - downAt) / 1000,
    upSeconds: (upAt - upStartedAt) / 1000,
    noticesEndedBeforeUpSeconds: (upStartedAt - Math.max(...noticeEnds)) / 1000,
    secondsFromUpToAllInProgress: (Math.max(...startedWork) - upAt) / 1000,
    secondsFromUpToAllInProgressObserved: (observedAllStartedAt - upAt) / 1000,
    workerSurvived,
    stateReads: stateReads.figures,
    workflowTaskTimeouts: histories.reduce((sum, h) => sum + h.workflowTaskTimeouts, 0),
    workflowTaskFailures: histories.flatMap((h) => h.workflowTaskFailures),
    maxActivityAttempt: Math.max(...histories.map((h) => h.maxActivityAttempt)),
    outboxMessages: delivery.byKey.length,
    maxMailsPerKey: delivery.maxCopies,
    duplicates: delivery.duplicates,
    totalSeconds: (Date.now() - testStart) / 1000,
  });
}, 90_000);
