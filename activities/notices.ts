import type { Notice } from '../domain/notice';
import type { Db } from '../lib/db';
import { enqueueNotice } from './outbox';

export function createNoticeActivities(db: Db) {
  return {
    /**
     * Queues one notice (a reminder, a notice of a step) once per key; the outbox relay delivers
     * it, so a mail server that is down never holds up the pilot. (The name is in recorded
     * histories: before the outbox relay existed this activity also sent the message.)
     */
    async sendNotice(notice: Notice): Promise<'queued' | 'already-queued'> {
      return db.$transaction(async (tx) => ((await enqueueNotice(tx, notice)) ? 'queued' : 'already-queued'));
    },
  };
}
