import { CallInput, Slug } from '../../domain/call';
import { callRecord } from '../../lib/calls';
import type { ApiDeps } from '../deps';
import { IntakeWorkflows } from '../intake-workflows';
import { Problem } from '../problem';
import { READERS, STAFF, type ApiRoutes } from '../registry';
import { parseBody } from '../validate';
import { callView } from '../views';

export function callRoutes(routes: ApiRoutes, { client, db, taskQueue, intake, updateResultMs }: ApiDeps): void {
  const intakes = new IntakeWorkflows(client, taskQueue, intake ?? false, updateResultMs);

  routes.add(
    {
      method: 'post',
      path: '/calls',
      roles: STAFF,
      summary: '发布申报通知（含全部规则配置）/ Create a call with its rules',
      tag: 'calls',
      body: CallInput,
      write: true,
    },
    async (req, res) => {
      const call = parseBody(CallInput, req.body);
      const repeated = await db.call.findUnique({ where: { idempotencyKey: req.idempotencyKey } });
      if (repeated) {
        // The first request may have stopped before the intake started (Temporal away): now it does.
        await intakes.ensure(CallInput.parse(repeated.config));
        res.status(201).location(`/calls/${repeated.id}`).json(callView(repeated));
        return;
      }
      const existing = await db.call.findUnique({ where: { id: call.id }, select: { id: true } });
      if (existing) throw new Problem('CALL_ALREADY_EXISTS');
      const create = db.call.create({
        data: { ...callRecord(call), idempotencyKey: req.idempotencyKey },
      });
      let row: Awaited<typeof create>;
      try {
        row = await create;
      } catch (error) {
        // Two requests at once: the same key gets the first one's call, another key a conflict.
        if ((error as { code?: string }).code !== 'P2002') throw error;
        const first = await db.call.findUnique({ where: { idempotencyKey: req.idempotencyKey } });
        if (!first) throw new Problem('CALL_ALREADY_EXISTS');
        row = first;
      }
      // A call with `intake` reads its mailbox from now on (already running is fine).
      await intakes.ensure(call);
      res.status(201).location(`/calls/${row.id}`).json(callView(row));
    },
  );

  routes.add(
    { method: 'get', path: '/calls', roles: READERS, summary: '申报通知列表 / List calls', tag: 'calls' },
    async (_req, res) => {
      const rows = await db.call.findMany({ orderBy: { submissionDeadline: 'desc' } });
      res.json({ items: rows.map(callView) });
    },
  );

  routes.add(
    { method: 'get', path: '/calls/:callId', roles: READERS, summary: '申报通知 / Read a call', tag: 'calls' },
    async (req, res) => {
      if (!Slug.safeParse(req.params.callId).success) throw new Problem('CALL_NOT_FOUND');
      const row = await db.call.findUnique({ where: { id: req.params.callId as string } });
      if (!row) throw new Problem('CALL_NOT_FOUND');
      res.json(callView(row));
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/calls/:callId/publicity',
      roles: READERS,
      summary: '成果宣传：已结项并列入宣传的试点 / Closed pilots marked for publicity',
      tag: 'calls',
    },
    async (req, res) => {
      const call = await db.call.findUnique({ where: { id: req.params.callId as string }, select: { id: true } });
      if (!call) throw new Problem('CALL_NOT_FOUND');
      const rows = await db.pilot.findMany({
        where: { callId: call.id, phase: 'closed', publicityMarkedAt: { not: null } },
        orderBy: { publicityMarkedAt: 'asc' },
      });
      res.json({
        items: rows.map((r) => ({
          pilotId: r.id,
          pilotUnitName: r.pilotUnitName,
          province: r.province,
          themes: r.themes,
          approvedAmountFen: r.approvedAmountFen,
          closedAt: r.closedAt,
          publicityNote: r.publicityNote,
          publicityMarkedAt: r.publicityMarkedAt,
        })),
      });
    },
  );
}
