/**
 * The messages a pilot workflow answers: its state query and one Update per staff action. Clients
 * (the API, scripts) import this module and `domain/`, never the workflow implementation.
 *
 * Each Update is named after its wire name, the key of its entry in `domain/staff-actions.ts`;
 * wire names are in every recorded history and never change.
 */
import type { UpdateDefinition } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Acting, PilotStart, PilotState } from '../../domain/pilot-state';
import { STAFF_ACTION_NAMES, type StaffActionInput, type StaffActionName } from '../../domain/staff-actions';

/** The workflow type (its function's name in `workflows/index.ts`), in every recorded history. */
export const PILOT_WORKFLOW = 'pilot';
export type PilotWorkflow = (start: PilotStart) => Promise<PilotState>;

export const pilotStateQuery = defineQuery<PilotState>('pilotState');

/** Every staff action answers with the pilot's state once it has been acted on. */
export type StaffUpdate<N extends StaffActionName> = UpdateDefinition<PilotState, [Acting<StaffActionInput<N>>], N>;

export const staffUpdates = Object.fromEntries(STAFF_ACTION_NAMES.map((name) => [name, defineUpdate(name)])) as {
  [N in StaffActionName]: StaffUpdate<N>;
};

export const submitUpdate = staffUpdates.submit;
export const recordExpertScoreUpdate = staffUpdates.recordExpertScore;
export const decideReviewUpdate = staffUpdates.decideReview;
export const raiseObjectionUpdate = staffUpdates.raiseObjection;
export const confirmTrancheUpdate = staffUpdates.confirmTranche;
export const submitMidtermReportUpdate = staffUpdates.submitMidtermReport;
export const evaluateMidtermUpdate = staffUpdates.evaluateMidterm;
export const submitFinalReportUpdate = staffUpdates.submitFinalReport;
export const decideAcceptanceUpdate = staffUpdates.decideAcceptance;
export const submitRectificationUpdate = staffUpdates.submitRectification;
export const extendDueDateUpdate = staffUpdates.extendDueDate;
export const withdrawUpdate = staffUpdates.withdraw;
export const flagIntegrityUpdate = staffUpdates.flagIntegrity;
