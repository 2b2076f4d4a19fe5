/**
 * The bare baseline's messages: one Update per staff action of the product's common path (same
 * wire names), and a state query. Imported by the baseline workflow and by the bench's client.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export const BARE_WORKFLOW = 'bareLifecycle';

export interface BareStart {
  /** The public notice (公示) period: the product's compressed call's, in milliseconds. */
  publicNoticeMs: number;
}

export type BarePhase =
  | 'registered'
  | 'submitted'
  | 'under_review'
  | 'public_notice'
  | 'in_progress'
  | 'midterm_review'
  | 'midterm_passed'
  | 'acceptance_review'
  | 'closed';

export type TrancheStatus = 'pending' | 'issued' | 'confirmed';

export interface BareState {
  phase: BarePhase;
  scores: number;
  amountFen: number | null;
  tranches: { first: TrancheStatus; tail: TrancheStatus };
}

export interface Reference {
  reference: string;
}
export interface Score {
  expertId: string;
  score: number;
}
export interface Decision {
  outcome: 'approved';
  amountFen: number;
}
export interface Verdict {
  outcome: 'passed';
}
export interface Confirmation {
  tranche: 'first' | 'tail';
  reference: string;
}

export const bareStateQuery = defineQuery<BareState>('bareState');
export const bareSubmit = defineUpdate<BareState, [Reference]>('submit');
export const bareRecordExpertScore = defineUpdate<BareState, [Score]>('recordExpertScore');
export const bareDecideReview = defineUpdate<BareState, [Decision]>('decideReview');
export const bareConfirmTranche = defineUpdate<BareState, [Confirmation]>('confirmTranche');
export const bareSubmitMidtermReport = defineUpdate<BareState, [Reference]>('submitMidtermReport');
export const bareEvaluateMidterm = defineUpdate<BareState, [Verdict]>('evaluateMidterm');
export const bareSubmitFinalReport = defineUpdate<BareState, [Reference]>('submitFinalReport');
export const bareDecideAcceptance = defineUpdate<BareState, [Verdict]>('decideAcceptance');
