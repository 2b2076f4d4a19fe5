/**
 * 弄虚作假 flagged while finance's confirmation of the same tranche is being written: both the
 * confirmation and the flag lead to a reclaim (追回), and it must be opened once. The worker here
 * runs the real activities on the real database, slowed down so the two writes overlap every time.
 * Before the fix the reclaim was opened twice, a close accepted in between was lost from the
 * workflow's state, and the workflow waited (and reminded finance) for ever.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { AesGcmCodec } from '../../lib/codec';
import { dataConverterFor } from '../../lib/temporal';
import { act, live, openCall, pilotInProgress, waitUntil } from '../support/pilots';
import { startStack, TEST_CODEC_KEYS, type Stack } from '../support/stack';
import { sleep } from './support';

let stack: Stack;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;

/** The real activities, each taking at least `ms` longer. */
function slowed<T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: T,
  ms: Partial<Record<keyof T, number>>,
): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, run]) => [
      name,
      async (...args: never[]) => {
        await sleep(ms[name as keyof T] ?? 0);
        return run(...args);
      },
    ]),
  ) as T;
}

beforeAll(async () => {
  stack = await startStack({ worker: false });
  connection = await NativeConnection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS! });
  worker = await Worker.create({
    connection,
    taskQueue: stack.taskQueue,
    workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
    activities: slowed(createActivities({ db: stack.db }), {
      recordTrancheConfirmation: 600,
      recordPilotStep: 300,
      openReclaim: 1500,
    }),
    dataConverter: dataConverterFor(new AesGcmCodec(TEST_CODEC_KEYS)),
    shutdownGraceTime: '2s',
  });
  running = worker.run();
}, 60_000);
afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await stack?.stop();
});

test('a confirmation and the integrity flag racing open one reclaim, which finance closes, and the pilot ends', async () => {
  const { pilotId } = await pilotInProgress(stack, await openCall(stack), undefined, undefined);
  const confirmed = act(stack, pilotId, 'tranches/first/confirmation', { reference: 'BANK-RACE' }, { as: 'finance' });
  await sleep(750); // the confirmation's ledger write is done, its step record is under way
  const flagged = act(stack, pilotId, 'integrity-flag', { reason: '申报材料弄虚作假' });
  await Promise.all([confirmed, flagged]);

  await waitUntil(async () => (await live(stack, pilotId)).tranches?.first.reclaim != null, 20_000, 'the reclaim');
  await waitUntil(async () => !(await live(stack, pilotId)).tranches?.first.inFlight, 20_000, 'the reclaim written');
  const closed = await act(stack, pilotId, 'tranches/first/reclaim', { reference: 'REPAID-RACE' }, { as: 'finance' });
  expect(closed.tranches?.first.reclaim?.closed).toMatchObject({ reference: 'REPAID-RACE' });

  const result = await stack.client.workflow.getHandle(pilotId).result();
  expect(result).toMatchObject({ phase: 'integrity_failed', tranches: { first: { status: 'confirmed' } } });
  expect(result.tranches?.first.reclaim?.closed).toMatchObject({ reference: 'REPAID-RACE' });
  const history = await stack.client.workflow.getHandle(pilotId).fetchHistory();
  const opened = (history.events ?? []).filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'openReclaim',
  );
  expect(opened.map((e) => e.eventId)).toHaveLength(1);
  expect(await stack.db.ledgerEntry.findMany({ where: { pilotId, purpose: 'reclaim' } })).toEqual([
    expect.objectContaining({ tranche: 'first', status: 'closed', confirmationRef: 'REPAID-RACE' }),
  ]);
}, 90_000);
