/**
 * Waiting for a person, with reminders: before a due date, then again while overdue. The due date
 * may move (an extension); the reminders follow it. Everything here is workflow code: durable
 * timers only, and reminder keys derived from the due date so a replay sends nothing twice.
 */
import type { NoticeContent } from '../../domain/notice';
import type { Block } from './blocking';

export interface ReminderPlan {
  /** Offsets before the due date, in ms; reminders whose time had passed when the date was set are skipped. */
  before: number[];
  /** Interval of overdue reminders, in ms, the first at the due date; null for none. */
  overdueEvery: number | null;
}

export interface Waiting {
  /** Names the step in reminder keys and e-mails. */
  step: Extract<NoticeContent, { template: 'reminder' }>['step'];
  /** Names the wait in reminder keys when one step is waited for more than once (default: step). */
  key?: string;
  done: () => boolean;
  /** The current due date (UTC ISO); read again after every wake-up, so extensions take effect. */
  due: () => string;
  reminders: ReminderPlan;
  /** The due date ends the wait (a submission deadline); otherwise the wait goes on, overdue. */
  expiresAtDue?: boolean;
  /** Stop waiting (without error) when this becomes true: the pilot ended. */
  abandoned: () => boolean;
  remind: (key: string, content: NoticeContent) => Promise<unknown>;
  /** A summary for each timer, naming the step and its date (shown in the Web UI). */
  describe?: (due: string) => string;
  /** How the wait blocks: the lifecycle's own waits let waiting Updates answer first. */
  block: Block;
}

export type WaitOutcome = 'done' | 'expired' | 'abandoned';

export async function waitWithReminders(w: Waiting): Promise<WaitOutcome> {
  const sent = new Set<string>();
  let dueSetAt = Date.now();
  let lastDue = w.due();

  for (;;) {
    if (w.abandoned()) return 'abandoned';
    if (w.done()) return 'done';
    const due = w.due();
    if (due !== lastDue) {
      lastDue = due;
      dueSetAt = Date.now();
    }
    const dueMs = Date.parse(due);
    if (w.expiresAtDue && Date.now() >= dueMs) return 'expired';

    const next = nextReminder(w, due, dueMs, dueSetAt, sent);
    const wakeAt = w.expiresAtDue ? Math.min(next?.at ?? dueMs, dueMs) : next?.at;
    const interrupted = await w.block(
      () => w.done() || w.abandoned() || w.due() !== due,
      wakeAt === undefined ? undefined : Math.max(0, wakeAt - Date.now()),
      w.describe ? { summary: w.describe(due) } : {},
    );
    if (interrupted || !next || Date.now() < next.at) continue;

    sent.add(`${due}:${next.when}:${next.n}`);
    // Not awaited: a mail server that is down for a while must not hold up the lifecycle; the
    // outbox keeps retrying the message under its key.
    void w
      .remind(`${w.key ?? w.step}:${next.when}:${due}:${next.n}`, {
        template: 'reminder',
        step: w.step,
        dueAt: due,
        when: next.when,
      })
      .catch(() => undefined);
  }
}

function nextReminder(w: Waiting, due: string, dueMs: number, dueSetAt: number, sent: Set<string>) {
  const candidates: { at: number; when: 'before' | 'overdue'; n: number }[] = [];
  for (const offset of w.reminders.before) {
    const at = dueMs - offset;
    if (at > dueSetAt && !sent.has(`${due}:before:${offset}`)) candidates.push({ at, when: 'before', n: offset });
  }
  if (w.reminders.overdueEvery !== null && !w.expiresAtDue) {
    // A wait that begins already overdue starts with the current interval, not a burst of old ones.
    let n = Math.max(0, Math.ceil((dueSetAt - dueMs) / w.reminders.overdueEvery));
    while (sent.has(`${due}:overdue:${n}`)) n += 1;
    candidates.push({ at: dueMs + n * w.reminders.overdueEvery, when: 'overdue', n });
  }
  return candidates.sort((a, b) => a.at - b.at)[0];
}
