import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';

/** What an auditor sees in the Web UI, read from the raw history. */
export async function readHistory(client: Client, workflowId: string) {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const acceptedUpdates = events
    .map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name)
    .filter((name): name is string => typeof name === 'string');
  const recordedSteps = events
    .map((e) => e.activityTaskScheduledEventAttributes)
    .filter((a) => a?.activityType?.name === 'recordPilotStep')
    .map((a) => {
      const [payload] = a?.input?.payloads ?? [];
      return payload ? defaultPayloadConverter.fromPayload<{ step: string }>(payload).step : '';
    });
  return { history, eventCount: events.length, acceptedUpdates, recordedSteps };
}
