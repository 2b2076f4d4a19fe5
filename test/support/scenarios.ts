import type { call, compressedCall, registration, uniqueId, Stack } from './stack';

/** Bumped when the workflow's logic changes: fixtures of every generation keep replaying. */
export const FIXTURE_GENERATION = 'g1';

interface Tools {
  call: typeof call;
  compressedCall: typeof compressedCall;
  registration: typeof registration;
  uniqueId: typeof uniqueId;
}

type Scenario = (stack: Stack, tools: Tools) => Promise<string>;

async function registered(stack: Stack, t: Tools, secondsToDeadline: number): Promise<string> {
  const callId = t.uniqueId('call');
  await t.call(stack, 'POST', '/calls', t.compressedCall(callId, secondsToDeadline));
  const answer = await t.call<{ pilotId: string }>(stack, 'POST', '/pilots', t.registration(callId, 'hangzhou'));
  if (answer.status !== 201) throw new Error(`registration failed: ${JSON.stringify(answer.body)}`);
  return answer.body.pilotId;
}

/** Scenarios that run a pilot to the end of a main path; each yields the pilot (workflow) id. */
export const scenarios: Record<string, Scenario> = {
  approved: async (stack, t) => {
    const pilotId = await registered(stack, t, 120);
    await t.call(stack, 'POST', `/pilots/${pilotId}/submission`, { reference: '申报书邮件' });
    await t.call(stack, 'POST', `/pilots/${pilotId}/review-decision`, {
      outcome: 'approved',
      amountFen: 350_000_00,
      reason: '评审通过',
    });
    return pilotId;
  },
  rejected: async (stack, t) => {
    const pilotId = await registered(stack, t, 120);
    await t.call(stack, 'POST', `/pilots/${pilotId}/submission`, { reference: '申报书邮件' });
    await t.call(stack, 'POST', `/pilots/${pilotId}/review-decision`, { outcome: 'rejected', reason: '方案不具体' });
    return pilotId;
  },
  expired: async (stack, t) => registered(stack, t, 2),
};
