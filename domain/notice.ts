import type { Tranche, WaitingFor } from './pilot';

/** What a notice is about; the activity renders it into a Chinese e-mail with the English gist. */
export type NoticeContent =
  | { template: 'reminder'; step: WaitingFor | 'finance-confirmation'; dueAt: string; when: 'before' | 'overdue' }
  | { template: 'payment-instruction'; tranche: Tranche; amountFen: number }
  | { template: 'tranche-withheld'; tranche: Tranche; amountFen: number; reason: string };

export interface Notice {
  /** Sent at most once per key, across activity retries and workflow replays. */
  key: string;
  pilotId: string;
  pilotName: string;
  callName: string;
  to: string[];
  content: NoticeContent;
}
