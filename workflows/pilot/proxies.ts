/**
 * The activities the pilot workflow calls, and how: every one is a short database transaction,
 * idempotent, retried for as long as the database is away.
 */
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../../activities';

/**
 * The short timeout is what brings a write back within seconds when the worker running it was
 * killed (a write takes milliseconds; the pool gives up connecting after 5 s).
 */
export const DATABASE_WRITE: ActivityOptions = {
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s' },
};

export const activities = proxyActivities<Activities>(DATABASE_WRITE);
