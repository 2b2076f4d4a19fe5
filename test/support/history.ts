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

/** What an auditor sees in the Web UI, read from the raw history. */
export async function readHistory(client: Client, workflowId: string) {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const acceptedUpdates = events
    .map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name)
    .filter((name): name is string => typeof name === 'string');
  const recordedSteps = await Promise.all(
    events
      .map((e) => e.activityTaskScheduledEventAttributes)
      .filter((a) => a?.activityType?.name === 'recordPilotStep')
      .map(async (a) => {
        const [payload] = a?.input?.payloads ?? [];
        return payload ? (await decodePayload<{ step: string }>(payload)).step : '';
      }),
  );
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
