/**
 * The e-mail intake of one call: reads the call's folder every `pollEvery` (or at once when staff
 * ask) until the submission deadline plus the entry period, then once more to its end (again at
 * once while that poll says there is `more`; a failed last poll is tried LAST_POLL_RETRIES more
 * times), and ends. `POST /calls/:id/intake/poll` after that answers INTAKE_ENDED. The reading
 * is one activity (`activities/intake.ts`) that records each message once; this workflow only
 * keeps the rhythm, so its history is small and continues as new every so many polls.
 *
 * A mailbox that is away fails a poll after its retries; the failure is kept in the state (query
 * `intakeState`) and the next poll tries again: the intake never stops for it.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { toMs } from '../../domain/duration';
import { bilingual } from '../../domain/errors';
import { formatBeijing } from '../../domain/time';
import { intakeStateQuery, pollNowUpdate, type IntakeStart, type IntakeState } from './messages';

/** Polls per run before continuing as new: a few events each, far from history limits. */
export const POLLS_PER_RUN = 200;

/**
 * A last poll (at or after the end) that failed is tried this many more times, LAST_POLL_PAUSE_MS
 * apart (after the activity's own retries), before the intake ends with what it has.
 */
export const LAST_POLL_RETRIES = 3;
const LAST_POLL_PAUSE_MS = 60_000;

/**
 * One poll: 10 minutes for a large mailbox (at most MESSAGES_PER_POLL messages per attempt);
 * heartbeats every 5 s while it runs (and per message), so a killed worker's poll is taken over
 * within 20 s and resumes at the cursor, while a slow login or one large message is not. Retries
 * with backoff for about a minute, then the poll counts as failed and the next one tries again.
 */
const POLL = {
  startToCloseTimeout: '10m',
  heartbeatTimeout: '20s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
} as const;

export async function intake(start: IntakeStart): Promise<IntakeState> {
  const until = Date.parse(start.submissionDeadline) + toMs(start.entryPeriod);
  const state: IntakeState = {
    callId: start.callId,
    folder: start.folder,
    until: new Date(until).toISOString(),
    polls: start.carried?.polls ?? 0,
    lastPoll: start.carried?.lastPoll ?? null,
    lastFailure: start.carried?.lastFailure ?? null,
    ended: false,
  };
  const { pollMailbox } = proxyActivities<Activities>({
    ...POLL,
    summary: `收取申报邮件 read applications from ${start.folder} until ${formatBeijing(state.until)}`,
  });

  /** Polls begun and finished (this run); an Update waits for one that began after it arrived. */
  let begun = 0;
  let finished = 0;
  let requested = false;

  setHandler(intakeStateQuery, () => state);
  setHandler(
    pollNowUpdate,
    async () => {
      requested = true;
      const after = begun;
      // The last poll may have begun before this arrived: the intake's end answers it then.
      await condition(() => finished > after || state.ended);
      return state;
    },
    {
      validator: () => {
        if (state.ended) {
          throw ApplicationFailure.create({
            type: 'INTAKE_ENDED',
            message: bilingual('INTAKE_ENDED'),
            nonRetryable: true,
          });
        }
      },
    },
  );

  /** Whether more messages wait (poll again at once), or null when the poll failed. */
  const pollOnce = async (): Promise<boolean | null> => {
    begun += 1;
    requested = false;
    let more: boolean | null = null;
    try {
      const { more: waiting, ...result } = await pollMailbox({ callId: start.callId, folder: start.folder });
      state.lastPoll = { at: new Date().toISOString(), ...result };
      state.lastFailure = null;
      more = waiting;
    } catch (error) {
      const message =
        error instanceof Error ? `${error.message}${error.cause ? `: ${String(error.cause)}` : ''}` : String(error);
      state.lastFailure = { at: new Date().toISOString(), message };
      log.warn('intake: poll failed, the next one tries again', { callId: start.callId, message });
    }
    state.polls += 1;
    finished += 1;
    return more;
  };

  // No intake history has shipped yet (none in test/fixtures): this loop changed without a patch.
  let lastPollFailures = 0;
  for (let run = 0; ; run += 1) {
    const pastEnd = Date.now() >= until;
    const more = await pollOnce();
    // At or after the end: done once a poll has read the folder to its end.
    if (pastEnd && more === false) break;
    if (pastEnd && more === null && ++lastPollFailures > LAST_POLL_RETRIES) break;
    // Only with no Update waiting: one that arrived during this poll waits for the next.
    if (run + 1 >= POLLS_PER_RUN && allHandlersFinished()) {
      await continueAsNew<typeof intake>({
        ...start,
        carried: { polls: state.polls, lastPoll: state.lastPoll, lastFailure: state.lastFailure },
      });
    }
    if (pastEnd) {
      if (more === null) await condition(() => requested, LAST_POLL_PAUSE_MS);
    } else if (!more) {
      await condition(() => requested, Math.max(1, Math.min(toMs(start.pollEvery), until - Date.now())));
    }
  }
  // The last poll ran at or after the end and read to the end of the folder (or failed after its
  // retries, `lastFailure` says so): what arrived before then is recorded.
  state.ended = true;
  await condition(allHandlersFinished);
  return state;
}
