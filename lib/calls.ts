import type { Call } from '../domain/call';

/** A validated call as its database row: the whole configuration, plus copies of what lists filter by. */
export function callRecord(call: Call) {
  return {
    id: call.id,
    name: call.name,
    config: call,
    submissionDeadline: new Date(call.submissionDeadline),
    fundingMinFen: call.funding.minFen,
    fundingMaxFen: call.funding.maxFen,
  };
}
