import { Router } from 'express';
import { CallInput } from '../../domain/call';
import type { ApiDeps } from '../app';
import { Problem } from '../problem';
import { parseBody } from '../validate';
import { callView } from '../views';

export function callRoutes({ db }: ApiDeps): Router {
  const router = Router();

  router.post('/calls', async (req, res) => {
    const call = parseBody(CallInput, req.body);
    const existing = await db.call.findUnique({ where: { id: call.id }, select: { id: true } });
    if (existing) throw new Problem('CALL_ALREADY_EXISTS');
    const row = await db.call.create({
      data: {
        id: call.id,
        name: call.name,
        config: call,
        submissionDeadline: new Date(call.submissionDeadline),
        fundingMinFen: call.funding.minFen,
        fundingMaxFen: call.funding.maxFen,
      },
    });
    res.status(201).location(`/calls/${row.id}`).json(callView(row));
  });

  router.get('/calls', async (_req, res) => {
    const rows = await db.call.findMany({ orderBy: { submissionDeadline: 'desc' } });
    res.json({ items: rows.map(callView) });
  });

  router.get('/calls/:callId', async (req, res) => {
    const row = await db.call.findUnique({ where: { id: req.params.callId } });
    if (!row) throw new Problem('CALL_NOT_FOUND');
    res.json(callView(row));
  });

  /** Closed pilots whose outcomes are marked for publicity (成果宣传), per call. */
  router.get('/calls/:callId/publicity', async (req, res) => {
    const call = await db.call.findUnique({ where: { id: req.params.callId }, select: { id: true } });
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
        approvedAmountFen: r.approvedAmountFen,
        closedAt: r.closedAt,
        publicityNote: r.publicityNote,
        publicityMarkedAt: r.publicityMarkedAt,
      })),
    });
  });

  return router;
}
