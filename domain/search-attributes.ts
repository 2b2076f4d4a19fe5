/**
 * The few typed search attributes auditors filter pilots by in the Temporal Web UI. No personal
 * data: ids, province, phase, flags and dates only. The dev server registers them at start
 * (`--search-attribute`); a cluster gets them from `npm run temporal:search-attributes`.
 */
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributeUpdatePair } from '@temporalio/common';
import type { PilotState } from './pilot';

export const PilotCallId = defineSearchAttributeKey('PilotCallId', SearchAttributeType.KEYWORD);
export const PilotProvince = defineSearchAttributeKey('PilotProvince', SearchAttributeType.KEYWORD);
export const PilotUnitCode = defineSearchAttributeKey('PilotUnitCode', SearchAttributeType.KEYWORD);
export const PilotPhase = defineSearchAttributeKey('PilotPhase', SearchAttributeType.KEYWORD);
export const PilotTailWithheld = defineSearchAttributeKey('PilotTailWithheld', SearchAttributeType.BOOL);
export const PilotNextDue = defineSearchAttributeKey('PilotNextDue', SearchAttributeType.DATETIME);

/** Name → type, as `temporal server start-dev --search-attribute Name=Type` and the operator API take them. */
export const SEARCH_ATTRIBUTES = {
  PilotCallId: 'Keyword',
  PilotProvince: 'Keyword',
  PilotUnitCode: 'Keyword',
  PilotPhase: 'Keyword',
  PilotTailWithheld: 'Bool',
  PilotNextDue: 'Datetime',
} as const;

/** The values for the pilot's current state; upserted at every phase change. */
export function searchAttributesOf(state: PilotState): SearchAttributeUpdatePair[] {
  return [
    { key: PilotCallId, value: state.callId },
    { key: PilotProvince, value: state.province },
    { key: PilotUnitCode, value: state.pilotUnit.code },
    { key: PilotPhase, value: state.phase },
    { key: PilotTailWithheld, value: state.tranches?.tail.status === 'withheld' },
    { key: PilotNextDue, value: state.waitingFor?.until ? new Date(state.waitingFor.until) : null },
  ];
}
