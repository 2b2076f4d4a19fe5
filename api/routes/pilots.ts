import { Router } from 'express';
import { z } from 'zod';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { CallInput, Slug } from '../../domain/call';
import {
  ExpertScore,
  Extension,
  FinalReport,
  IntegrityFlag,
  MidtermReport,
  Objection,
  PILOT_PHASES,
  PilotRegistration,
  Rectification,
  ReviewDecision,
  Submission,
  Tranche,
  Verdict,
  Withdrawal,
  pilotIdOf,
  type Acting,
  type PilotState,
} from '../../domain/pilot';
import {
  acceptanceUpdate,
  confirmTrancheUpdate,
  decideReviewUpdate,
  extendUpdate,
  finalReportUpdate,
  integrityUpdate,
  midtermEvaluationUpdate,
  midtermReportUpdate,
  objectUpdate,
  pilot,
  pilotStateQuery,
  rectificationUpdate,
  scoreUpdate,
  submitUpdate,
  withdrawUpdate,
} from '../../workflows/pilot';
import type { ApiDeps } from '../app';
import { Problem } from '../problem';
import { problemFromTemporal } from '../temporal-errors';
import { parseBody } from '../validate';
import { pilotView } from '../views';

const ListQuery = z.object({
  callId: Slug.optional(),
  phase: z.enum(PILOT_PHASES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const Publicity = z.object({ note: z.string().trim().min(1).max(2000) });

async function temporal<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw problemFromTemporal(error) ?? error;
  }
}

export function pilotRoutes({ client, db, taskQueue, uiUrl }: ApiDeps): Router {
  const router = Router();
  const namespace = client.options.namespace;
  const view = (state: PilotState) => pilotView(state, uiUrl, namespace);

  /**
   * Staff actions go through Updates: the workflow's validator refuses what the rules forbid
   * (synchronously, leaving no event in history) and the answer is the pilot's new state.
   */
  async function act<A>(pilotId: string, update: UpdateDefinition<PilotState, [Acting<A>]>, input: Acting<A>) {
    const handle = client.workflow.getHandle(pilotId);
    try {
      return await handle.executeUpdate(update, { args: [input] });
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw await endedPilotProblem(handle, update.name);
      throw problemFromTemporal(error) ?? error;
    }
  }

  /** An Update cannot reach a workflow that has ended; say why it ended. */
  async function endedPilotProblem(handle: WorkflowHandle, updateName: string): Promise<Problem> {
    const state = await temporal(() => handle.query(pilotStateQuery));
    return state.phase === 'expired' && updateName === submitUpdate.name
      ? new Problem('SUBMISSION_DEADLINE_PASSED')
      : new Problem('PILOT_ENDED', state.phase);
  }

  /** POST /pilots/:pilotId/<path>: one staff action, validated here and by the workflow. */
  function action<A extends object>(
    path: string,
    schema: z.ZodType<A>,
    update: UpdateDefinition<PilotState, [Acting<A>]>,
  ) {
    router.post(`/pilots/:pilotId/${path}`, async (req, res) => {
      const input: A = parseBody(schema, req.body);
      res.json(view(await act(req.params.pilotId as string, update, { ...input, actor: req.actor })));
    });
  }

  router.post('/pilots', async (req, res) => {
    const registration = parseBody(PilotRegistration, req.body);
    const callRow = await db.call.findUnique({ where: { id: registration.callId } });
    if (!callRow) throw new Problem('CALL_NOT_FOUND');
    const call = CallInput.parse(callRow.config);
    if (Date.now() >= Date.parse(call.submissionDeadline)) throw new Problem('REGISTRATION_CLOSED');

    const pilotId = pilotIdOf(call.id, registration.pilotUnit.code);
    const handle = await temporal(() =>
      client.workflow.start(pilot, {
        taskQueue,
        workflowId: pilotId,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        args: [{ pilotId, registration, call, registeredBy: req.actor }],
      }),
    );
    const state = await temporal(() => handle.query(pilotStateQuery));
    res.status(201).location(`/pilots/${pilotId}`).json(view(state));
  });

  router.get('/pilots', async (req, res) => {
    const query = parseBody(ListQuery, req.query);
    const where = { callId: query.callId, phase: query.phase };
    const [total, rows] = await Promise.all([
      db.pilot.count({ where }),
      db.pilot.findMany({
        where,
        orderBy: [{ registeredAt: 'asc' }, { id: 'asc' }],
        skip: query.offset,
        take: query.limit,
      }),
    ]);
    res.json({
      total,
      limit: query.limit,
      offset: query.offset,
      items: rows.map(({ stateVersion: _version, ...row }) => row),
    });
  });

  router.get('/pilots/:pilotId', async (req, res) => {
    const state = await temporal(() => client.workflow.getHandle(req.params.pilotId).query(pilotStateQuery));
    res.json(view(state));
  });

  action('submission', Submission, submitUpdate);
  action('expert-scores', ExpertScore, scoreUpdate);
  action('review-decision', ReviewDecision, decideReviewUpdate);
  action('objections', Objection, objectUpdate);
  action('midterm-report', MidtermReport, midtermReportUpdate);
  action('midterm-evaluation', Verdict, midtermEvaluationUpdate);
  action('final-report', FinalReport, finalReportUpdate);
  action('acceptance', Verdict, acceptanceUpdate);
  action('rectification', Rectification, rectificationUpdate);
  action('extensions', Extension, extendUpdate);
  action('withdrawal', Withdrawal, withdrawUpdate);
  action('integrity-flag', IntegrityFlag, integrityUpdate);

  router.post('/pilots/:pilotId/tranches/:tranche/confirmation', async (req, res) => {
    const tranche = parseBody(Tranche, req.params.tranche);
    const { reference } = parseBody(z.object({ reference: z.string().trim().min(1).max(300) }), req.body);
    res.json(view(await act(req.params.pilotId, confirmTrancheUpdate, { tranche, reference, actor: req.actor })));
  });

  router.get('/pilots/:pilotId/ledger', async (req, res) => {
    const rows = await db.ledgerEntry.findMany({ where: { pilotId: req.params.pilotId }, orderBy: { id: 'asc' } });
    res.json({ items: rows.map((row) => ({ ...row, id: String(row.id) })) });
  });

  /** 成果宣传: a closed pilot's outcomes chosen for promotion (after the workflow's story is over). */
  router.post('/pilots/:pilotId/publicity', async (req, res) => {
    const { note } = parseBody(Publicity, req.body);
    const row = await db.pilot.findUnique({ where: { id: req.params.pilotId } });
    if (!row) throw new Problem('PILOT_NOT_FOUND');
    if (row.phase !== 'closed') throw new Problem('NOT_CLOSED', row.phase);
    const at = new Date();
    await db.$transaction([
      db.pilot.update({ where: { id: row.id }, data: { publicityNote: note, publicityMarkedAt: at } }),
      db.auditEvent.create({
        data: {
          pilotId: row.id,
          step: `publicity:${at.toISOString()}`,
          runId: '',
          phase: row.phase,
          actorId: req.actor.id,
          actorRole: req.actor.role,
          reason: note,
          data: { publicityNote: note },
          occurredAt: at,
        },
      }),
    ]);
    res.json({ pilotId: row.id, publicityNote: note, publicityMarkedAt: at.toISOString() });
  });

  return router;
}
