import { Router } from 'express';
import { z } from 'zod';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { CallInput, Slug } from '../../domain/call';
import {
  PILOT_PHASES,
  PilotRegistration,
  ReviewDecision,
  Submission,
  pilotIdOf,
  type Acting,
  type PilotState,
} from '../../domain/pilot';
import { decideReviewUpdate, pilot, pilotStateQuery, submitUpdate } from '../../workflows/pilot';
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
      if (error instanceof WorkflowNotFoundError) throw await endedPilotProblem(handle);
      throw problemFromTemporal(error) ?? error;
    }
  }

  /** An Update cannot reach a workflow that has ended; say why it ended. */
  async function endedPilotProblem(handle: WorkflowHandle): Promise<Problem> {
    const state = await temporal(() => handle.query(pilotStateQuery));
    return state.phase === 'expired' ? new Problem('SUBMISSION_DEADLINE_PASSED') : new Problem('PILOT_ENDED');
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

  router.post('/pilots/:pilotId/submission', async (req, res) => {
    const submission = parseBody(Submission, req.body);
    res.json(view(await act(req.params.pilotId, submitUpdate, { ...submission, actor: req.actor })));
  });

  router.post('/pilots/:pilotId/review-decision', async (req, res) => {
    const decision = parseBody(ReviewDecision, req.body);
    res.json(view(await act(req.params.pilotId, decideReviewUpdate, { ...decision, actor: req.actor })));
  });

  return router;
}
