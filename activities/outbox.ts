import { CallInput } from '../domain/call';
import type { Notice } from '../domain/notice';
import type { DbClient } from '../lib/db';
import { auditAutomaticAction } from './audit';
import { renderNotice, type OfficeContact } from './notice-templates';

/**
 * The contact of the office that runs the pilot's call, for the foot of its e-mails. The workflow
 * sends no contact with its notices (recorded histories have none), so it is read here from the
 * call's row: a pilot id is `<call id>.<pilot unit code>` and call ids hold no dot. A call that
 * cannot be read leaves the contact out rather than holding up the step the notice belongs to.
 */
async function officeOf(tx: DbClient, pilotId: string): Promise<OfficeContact | null> {
  const dot = pilotId.indexOf('.');
  const callId = dot > 0 ? pilotId.slice(0, dot) : null;
  const row = callId ? await tx.call.findUnique({ where: { id: callId }, select: { config: true } }) : null;
  const office = CallInput.shape.office.safeParse((row?.config as { office?: unknown } | null)?.office);
  return office.success ? office.data : null;
}

/**
 * Queues a notice in the outbox, once per key, inside the caller's transaction: the message exists
 * exactly when the step that causes it does. The outbox relay delivers it; nothing here waits for
 * SMTP. Its audit row goes with it. Returns false when the key was already queued (a retry or a replay).
 */
export async function enqueueNotice(tx: DbClient, notice: Notice): Promise<boolean> {
  const { subject, text } = renderNotice(notice, await officeOf(tx, notice.pilotId));
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
