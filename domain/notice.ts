import type { Tranche, WaitingFor } from './pilot';

/** What a notice is about; the activity renders it into a Chinese e-mail with the English gist. */
export type NoticeContent =
  | {
      template: 'reminder';
      step: WaitingFor | 'finance-confirmation' | 'reclaim';
      dueAt: string;
      when: 'before' | 'overdue';
    }
  | { template: 'payment-instruction'; tranche: Tranche; amountFen: number }
  | { template: 'tranche-withheld'; tranche: Tranche; amountFen: number; reason: string }
  /** To the office: finance voided an instruction that was not executed. */
  | { template: 'instruction-voided'; tranche: Tranche; amountFen: number; reason: string }
  /** To finance: the pilot ended while an instruction is open; execute and confirm it, or void it. */
  | { template: 'instruction-open-after-end'; tranche: Tranche; amountFen: number; ending: string }
  /** To finance: a paid tranche is to be reclaimed (追回) from a pilot that submitted false material. */
  | { template: 'reclaim-opened'; tranche: Tranche; amountFen: number; reason: string };

export interface Notice {
  /** Sent at most once per key, across activity retries and workflow replays. */
  key: string;
  pilotId: string;
  pilotName: string;
  callName: string;
  to: string[];
  content: NoticeContent;
}
