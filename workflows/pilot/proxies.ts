/**
 * The activities the pilot workflow calls, and how: every one is a short database transaction,
 * idempotent, retried for as long as the database is away.
 */
import {
  proxyActivities,
  proxyLocalActivities,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';

/**
 * The short timeout is what brings a write back within seconds when the worker running it was
 * killed (a write takes milliseconds; the pool gives up connecting after 5 s).
 */
export const DATABASE_WRITE: ActivityOptions = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' },
};

/**
 * Since patch 'slim-history' the pilot's records (its row and audit trail, reminders, the unit's
 * integrity flag) are local activities: they run in the worker that runs the workflow task, with
 * no task round trip through Temporal and only a marker (their result and summary) in history,
 * never their input. Each is idempotent (keyed by pilot + step), so the workflow task a killed
 * worker leaves behind runs them again harmlessly. A local activity holds its workflow task (no
 * query, no Update is answered meanwhile), so attempts are short and, past the first retry, the
 * backoff runs as a timer with the task completed: during a database outage the pilot still
 * answers, as it does while a ledger write is retried.
 *
 * Ledger writes stay normal activities: while one is retried the workflow answers finance with
 * TRANCHE_BUSY / TRANCHE_NOT_ISSUED, and an accepted confirmation is acknowledged (202) at once.
 */
export const LOCAL_DATABASE_WRITE: LocalActivityOptions = {
  startToCloseTimeout: '5s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s' },
  localRetryThreshold: '1s',
};

/** The writes that run as local activities since patch 'slim-history'. */
export const LOCAL_WRITES: readonly ActivityName[] = ['recordPilotStep', 'sendNotice', 'flagUnitIntegrity'];

export const activities = proxyActivities<Activities>(DATABASE_WRITE);
export const localActivities = proxyLocalActivities<Activities>(LOCAL_DATABASE_WRITE);

export type ActivityName = keyof Activities;
export type ActivityInput<K extends ActivityName> = Parameters<Activities[K]>[0];
export type ActivityResult<K extends ActivityName> = Awaited<ReturnType<Activities[K]>>;
