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
 * Since patch 'slim-history' the same writes run as local activities: in the worker that runs the
 * workflow task, with no task round trip through Temporal and only their result (a marker) in
 * history, never their input. Each is idempotent (keyed by pilot + step), so the workflow task
 * that a killed worker leaves behind runs them again, harmlessly. Backoffs up to a minute stay in
 * the worker; longer outages are bridged by timers.
 */
export const LOCAL_DATABASE_WRITE: LocalActivityOptions = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' },
  localRetryThreshold: '1m',
};

export const activities = proxyActivities<Activities>(DATABASE_WRITE);
export const localActivities = proxyLocalActivities<Activities>(LOCAL_DATABASE_WRITE);

export type ActivityName = keyof Activities;
export type ActivityInput<K extends ActivityName> = Parameters<Activities[K]>[0];
export type ActivityResult<K extends ActivityName> = Awaited<ReturnType<Activities[K]>>;
