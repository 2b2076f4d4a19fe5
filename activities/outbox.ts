import type { Notice } from '../domain/notice';
import type { DbClient } from '../lib/db';
import { auditAutomaticAction } from './audit';
import { renderNotice } from './notice-templates';

/**
 * Queues a notice in the outbox, once per key, inside the caller's transaction: the message exists
 * exactly when the step that causes it does. The outbox relay delivers it; nothing here waits for
 * SMTP. Its audit row goes with it. Returns false when the key was already queued (a retry or a replay).
 */
export async function enqueueNotice(tx: DbClient, notice: Notice): Promise<boolean> {
  const { subject, text } = renderNotice(notice);
  const { count } = await tx.outboxMessage.createMany({
    data: { key: notice.key, pilotId: notice.pilotId, recipients: notice.to, subject, body: text, status: 'pending' },
    skipDuplicates: true,
  });
  if (count === 0) return false;
  // Recipients stay in the outbox; the audit trail names the notice, not the people.
  await auditAutomaticAction(tx, notice.pilotId, `notice:${notice.key}`, {
    template: notice.content.template,
    subject,
  });
  return true;
}
