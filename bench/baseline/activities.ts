/**
 * The bare baseline's activities: the product's activity types on its common path, doing nothing.
 * What is left is Temporal's own cost of scheduling, running and recording an activity.
 */
export const bareActivities = {
  async recordPilotStep(_step: string): Promise<void> {},
  async issuePaymentInstruction(_tranche: 'first' | 'tail'): Promise<void> {},
  async recordTrancheConfirmation(_tranche: 'first' | 'tail'): Promise<void> {},
};

export type BareActivities = typeof bareActivities;
