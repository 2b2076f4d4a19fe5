import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { AesGcmCodec } from '../../lib/codec';
import { TEST_CODEC_KEYS } from './stack';

const codec = new AesGcmCodec(TEST_CODEC_KEYS);

/** A payload as the auditor reads it: decrypted with the (test) codec keys, then converted. */
export async function decodePayload<T>(payload: Payload): Promise<T> {
  const [plain] = await codec.decode([payload]);
  return defaultPayloadConverter.fromPayload<T>(plain!);
}

type HistoryEvent = NonNullable<
  Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']
>[number];

/** What a local-activity marker records (its activity type and attempt), if the event is one. */
export function localActivityMarker(event: HistoryEvent): { type: string; attempt: number } | null {
  const marker = event.markerRecordedEventAttributes;
  if (marker?.markerName !== 'core_local_activity') return null;
  const [data] = marker.details?.data?.payloads ?? [];
  if (!data?.data) return null;
  const parsed = JSON.parse(Buffer.from(data.data).toString('utf8')) as { activity_type?: string; attempt?: number };
  return parsed.activity_type ? { type: parsed.activity_type, attempt: parsed.attempt ?? 1 } : null;
}

/** The activity type a local-activity marker records, if the event is one. */
export function localActivityType(event: HistoryEvent): string | null {
  return localActivityMarker(event)?.type ?? null;
}

/** What an auditor sees in the Web UI, read from the raw history. */
export async function readHistory(client: Client, workflowId: string) {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const acceptedUpdates = events
    .map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name)
    .filter((name): name is string => typeof name === 'string');
  // A step is an activity (its input names it) or, since patch 'slim-history', a local activity:
  // a marker whose summary names it.
  const recordedSteps = await Promise.all(
    events.map(async (e): Promise<string | null> => {
      const scheduled = e.activityTaskScheduledEventAttributes;
      if (scheduled?.activityType?.name === 'recordPilotStep') {
        const [payload] = scheduled.input?.payloads ?? [];
        return payload ? (await decodePayload<{ step: string }>(payload)).step : '';
      }
      if (localActivityType(e) !== 'recordPilotStep' || !e.userMetadata?.summary) return null;
      const summary = await decodePayload<string>(e.userMetadata.summary as Payload);
      return summary.replace(/^记录 record: /, '');
    }),
  ).then((steps) => steps.filter((step): step is string => step !== null));
  return { history, eventCount: events.length, acceptedUpdates, recordedSteps };
}

/**
 * Waits until the workflow has nothing in flight (no pending activity or workflow task), so that
 * the event count can only change because of what the test does next.
 */
export async function quietHistory(client: Client, workflowId: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const read = await readHistory(client, workflowId);
    const events = read.history.events ?? [];
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes).length;
    const finished = events.filter(
      (e) =>
        e.activityTaskCompletedEventAttributes ||
        e.activityTaskFailedEventAttributes ||
        e.activityTaskTimedOutEventAttributes,
    ).length;
    const last = events.at(-1);
    if (
      scheduled === finished &&
      !last?.workflowTaskScheduledEventAttributes &&
      !last?.workflowTaskStartedEventAttributes
    ) {
      return read;
    }
    if (Date.now() > deadline) throw new Error(`history of ${workflowId} did not settle`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
