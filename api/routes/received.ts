/**
 * Applications received by e-mail (the call's intake): the list staff work from, and "poll the
 * mailbox now". Senders and subjects are personal data: shown to the office, never logged.
 */
import { z } from 'zod';
import { CallInput, Slug } from '../../domain/call';
import type { ApiDeps } from '../deps';
import { IntakeWorkflows } from '../intake-workflows';
import { Problem } from '../problem';
import { applicantUnitsOf, receivedItem, receivedView } from '../received';
import { AUDIT, STAFF, type ApiRoutes } from '../registry';
import { parseBody } from '../validate';

const ReceivedQuery = z.object({
  /** unattached / attached: to a pilot's submission; flagged: any fact staff must look at. */
  status: z.enum(['unattached', 'attached', 'flagged']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

export function receivedRoutes(routes: ApiRoutes, { client, db, taskQueue, intake, updateResultMs }: ApiDeps): void {
  const intakes = new IntakeWorkflows(client, taskQueue, intake ?? false, updateResultMs);

  routes.add(
    {
      method: 'get',
      path: '/calls/:callId/received',
      roles: AUDIT,
      summary: '收到的申报邮件（按到达时间判断是否逾期）/ Applications received by e-mail, judged by arrival time',
      tag: 'calls',
      query: ReceivedQuery,
    },
    async (req, res) => {
      const query = parseBody(ReceivedQuery, req.query);
      // No such call can have it (and a NUL would reach PostgreSQL): 404, never a 500.
      if (!Slug.safeParse(req.params.callId).success) throw new Problem('CALL_NOT_FOUND');
      const call = await db.call.findUnique({
        where: { id: req.params.callId as string },
        select: { id: true, submissionDeadline: true },
      });
      if (!call) throw new Problem('CALL_NOT_FOUND');
      const attached = query.status === 'attached' ? { not: null } : query.status === 'unattached' ? null : undefined;
      // A call receives hundreds of messages, not millions: matched and filtered here, then paged.
      const [rows, units] = await Promise.all([
        db.receivedApplication.findMany({
          where: { callId: call.id, pilotId: attached },
          orderBy: [{ receivedAt: 'asc' }, { id: 'asc' }],
        }),
        applicantUnitsOf(db, call.id),
      ]);
      const items = rows
        .map((row) => receivedItem(row, call.submissionDeadline, units))
        .filter((item) => query.status !== 'flagged' || item.flags.length > 0);
      res.json({
        total: items.length,
        limit: query.limit,
        offset: query.offset,
        items: items.slice(query.offset, query.offset + query.limit).map((item) => receivedView(item, req.actor.role)),
      });
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/calls/:callId/intake/poll',
      roles: STAFF,
      summary: '立即收取申报邮件 / Read the call’s mailbox now',
      tag: 'calls',
      write: true,
    },
    async (req, res) => {
      if (!Slug.safeParse(req.params.callId).success) throw new Problem('CALL_NOT_FOUND');
      const row = await db.call.findUnique({ where: { id: req.params.callId as string } });
      if (!row) throw new Problem('CALL_NOT_FOUND');
      // After the deadline and the entry period the intake has ended: INTAKE_ENDED (409).
      const polled = await intakes.pollNow(CallInput.parse(row.config), req.idempotencyKey);
      if (polled.done) {
        res.json({ status: 'polled', intake: polled.state });
        return;
      }
      res.status(202).json({
        status: 'accepted',
        message: '已请求收取邮件，仍在进行；稍后查看收到的申报邮件',
        messageEn: 'The mailbox is being read; list the received applications again shortly',
      });
    },
  );
}
