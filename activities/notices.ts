import type { Notice } from '../domain/notice';
import type { Db } from '../lib/db';
import type { Mailer } from '../lib/mailer';
import { renderNotice } from './notice-templates';
import { auditAutomaticAction } from './audit';

export function createNoticeActivities(db: Db, mailer: Mailer) {
  return {
    /**
     * Sends one notice at most once per key: the outbox row is created on the first attempt and a
     * message already sent (or stored) is not sent again by a retry or a replayed workflow.
     */
    async sendNotice(notice: Notice): Promise<'sent' | 'stored' | 'already-sent'> {
      const { subject, text } = renderNotice(notice);
      const row = await db.outboxMessage.upsert({
        where: { key: notice.key },
        create: {
          key: notice.key,
          pilotId: notice.pilotId,
          recipients: notice.to,
          subject,
          body: text,
          status: 'pending',
        },
        update: {},
      });
      if (row.status === 'sent' || row.status === 'stored') return 'already-sent';
      await db.outboxMessage.update({ where: { key: notice.key }, data: { attempts: { increment: 1 } } });
      try {
        const result = await mailer.send({ key: notice.key, to: notice.to, subject, text });
        await db.outboxMessage.update({
          where: { key: notice.key },
          data: { status: result.status, messageId: result.messageId, sentAt: new Date(), lastError: null },
        });
        // Recipients stay in the outbox; the audit trail names the notice, not the people.
        await auditAutomaticAction(db, notice.pilotId, `notice:${notice.key}`, {
          template: notice.content.template,
          subject,
          status: result.status,
        });
        return result.status;
      } catch (error) {
        await db.outboxMessage.update({
          where: { key: notice.key },
          data: { status: 'failed', lastError: (error as Error).message.slice(0, 500) },
        });
        throw error;
      }
    },
  };
}
