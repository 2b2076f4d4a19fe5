/**
 * The e-mail intake workflow's messages: its start input, its state query and the Update that
 * polls now. Clients (the API) import this module, never the implementation. No zod, no Node: the
 * workflow bundle imports it.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { DurationText } from '../../domain/duration';

/** The workflow type (its function's name in `workflows/index.ts`). */
export const INTAKE_WORKFLOW = 'intake';

/** One intake per call. Pilot ids are `<call id>.<unit code>`; this one starts with a fixed word. */
export const intakeWorkflowId = (callId: string): string => `intake.${callId}`;

/**
 * What the intake runs on: the call's folder and rhythm and when it stops, never the mailbox's
 * address or credentials (the worker has those; history does not).
 */
export interface IntakeStart {
  callId: string;
  folder: string;
  pollEvery: DurationText;
  /** The call's submission deadline (UTC ISO): arrivals before it are on time. */
  submissionDeadline: string;
  /** How long after the deadline the mailbox is still read (staff key in on-time receipts then). */
  entryPeriod: DurationText;
  /** Carried across continue-as-new. */
  carried?: Pick<IntakeState, 'polls' | 'lastPoll' | 'lastFailure'>;
}

export interface IntakePoll {
  at: string;
  uidValidity: number;
  lastUid: number;
  fetched: number;
  recorded: number;
  /** Passed over as older than the call's `since`; recorded UNREADABLE. */
  skipped: number;
  unreadable: number;
  /** The call's opening (UTC ISO): mail that arrived before it is not the call's. */
  since: string;
}

export interface IntakeState {
  callId: string;
  folder: string;
  /** The instant the intake stops reading: the deadline plus the entry period. */
  until: string;
  /** Polls that completed, over all runs. */
  polls: number;
  lastPoll: IntakePoll | null;
  /** The last poll that failed after its retries (IMAP away, wrong folder …), until one succeeds. */
  lastFailure: { at: string; message: string } | null;
  ended: boolean;
}

export type IntakeWorkflow = (start: IntakeStart) => Promise<IntakeState>;

export const intakeStateQuery = defineQuery<IntakeState>('intakeState');

/** Poll now; answers with the state after a poll that began once the request arrived. */
export const pollNowUpdate = defineUpdate<IntakeState>('pollNow');
