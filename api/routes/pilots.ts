import type { RequestHandler } from 'express';
import multer from 'multer';
import { z } from 'zod';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { decodeOptionalSinglePayload } from '@temporalio/common/lib/internal-non-workflow';
import { ApplicationForm, expectedPdfName, formIssuesAgainst } from '../../domain/application-form';
import { CallInput, Slug } from '../../domain/call';
import { PilotCallId, PilotNextDue, PilotPhase, PilotProvince, PilotUnitCode } from '../../domain/search-attributes';
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
  Tranche,
  Verdict,
  Withdrawal,
  pilotIdOf,
  type Acting,
  type PilotState,
  type Role,
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
import { fieldProblems, Problem } from '../problem';
import { FINANCE, READERS, REVIEWERS, STAFF, type ApiRoutes } from '../registry';
import { problemFromTemporal } from '../temporal-errors';
import { nulPath, parseBody } from '../validate';
import { pilotView } from '../views';

const ListQuery = z.object({
  callId: Slug.optional(),
  phase: z.enum(PILOT_PHASES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
const Publicity = z.object({ note: z.string().trim().min(1).max(2000) });
const Confirmation = z.object({ reference: z.string().trim().min(1).max(300) });
const PDF_MAGIC = Buffer.from('%PDF-');

async function temporal<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw problemFromTemporal(error) ?? error;
  }
}

/** The result an Update gave, read back from history: a repeat after the workflow has ended. */
async function updateResultFromHistory(client: Client, handle: WorkflowHandle, updateId: string) {
  const history = await handle.fetchHistory();
  for (const event of history.events ?? []) {
    const completed = event.workflowExecutionUpdateCompletedEventAttributes;
    if (completed?.meta?.updateId === updateId && completed.outcome?.success) {
      const [payload] = completed.outcome.success.payloads ?? [];
      return decodeOptionalSinglePayload<PilotState>(client.options.loadedDataConverter, payload);
    }
  }
  return null;
}

export function pilotRoutes(routes: ApiRoutes, { client, db, taskQueue, uiUrl, store, pdfMaxBytes }: ApiDeps): void {
  const namespace = client.options.namespace;
  const view = (state: PilotState, role: Role) => pilotView(state, uiUrl, namespace, role);

  /**
   * Staff actions go through Updates: the workflow's validator refuses what the rules forbid
   * (synchronously, leaving no event in history) and the answer is the pilot's new state. The
   * Idempotency-Key becomes the update id, so Temporal answers a repeat with the first result.
   */
  async function act<A>(
    pilotId: string,
    update: UpdateDefinition<PilotState, [Acting<A>]>,
    input: Acting<A>,
    idempotencyKey: string,
  ): Promise<PilotState> {
    const handle = client.workflow.getHandle(pilotId);
    const updateId = `${update.name}:${idempotencyKey}`;
    // Every decision's payload names who asked, in which role, and when.
    const request = { ...input, requestedAt: new Date().toISOString() };
    try {
      return await handle.executeUpdate(update, { args: [request], updateId });
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw problemFromTemporal(error) ?? error;
      await temporal(() => handle.describe()); // an unknown pilot: 404
      const earlier = await temporal(() => updateResultFromHistory(client, handle, updateId));
      if (earlier) return earlier;
      const state = await temporal(() => handle.query(pilotStateQuery));
      throw state.phase === 'expired' && update.name === submitUpdate.name
        ? new Problem('SUBMISSION_DEADLINE_PASSED')
        : new Problem('PILOT_ENDED', state.phase);
    }
  }

  function action<A extends object>(
    path: string,
    summary: string,
    roles: typeof STAFF,
    schema: z.ZodType<A>,
    update: UpdateDefinition<PilotState, [Acting<A>]>,
  ) {
    routes.add(
      {
        method: 'post',
        path: `/pilots/:pilotId/${path}`,
        roles,
        summary,
        tag: 'pilot actions',
        body: schema,
        write: true,
      },
      async (req, res) => {
        const input: A = parseBody(schema, req.body);
        const state = await act(
          req.params.pilotId as string,
          update,
          { ...input, actor: req.actor },
          req.idempotencyKey,
        );
        res.json(view(state, req.actor.role));
      },
    );
  }

  /** The pilot a registration with this key created, if any: its repeat answers with it. */
  async function registeredWithKey(pilotId: string, key: string): Promise<PilotState | null> {
    const handle = client.workflow.getHandle(pilotId);
    try {
      const { memo } = await handle.describe();
      return memo?.idempotencyKey === key ? await temporal(() => handle.query(pilotStateQuery)) : null;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return null;
      throw problemFromTemporal(error) ?? error;
    }
  }

  /** 404 for a pilot that was never registered. */
  async function knownPilot(pilotId: string): Promise<void> {
    if (!(await db.pilot.findUnique({ where: { id: pilotId }, select: { id: true } }))) {
      await temporal(() => client.workflow.getHandle(pilotId).describe());
    }
  }

  routes.add(
    {
      method: 'post',
      path: '/pilots',
      roles: STAFF,
      summary: '登记预期申报的试点 / Register an expected application (starts the pilot workflow)',
      tag: 'pilots',
      body: PilotRegistration,
      write: true,
    },
    async (req, res) => {
      const registration = parseBody(PilotRegistration, req.body);
      const pilotId = pilotIdOf(registration.callId, registration.pilotUnit.code);
      const repeated = await registeredWithKey(pilotId, req.idempotencyKey);
      if (repeated) {
        res.status(201).location(`/pilots/${pilotId}`).json(view(repeated, req.actor.role));
        return;
      }
      const callRow = await db.call.findUnique({ where: { id: registration.callId } });
      if (!callRow) throw new Problem('CALL_NOT_FOUND');
      const call = CallInput.parse(callRow.config);
      if (Date.now() >= Date.parse(call.submissionDeadline)) throw new Problem('REGISTRATION_CLOSED');

      let handle: WorkflowHandle;
      try {
        handle = await client.workflow.start(pilot, {
          taskQueue,
          workflowId: pilotId,
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          memo: { idempotencyKey: req.idempotencyKey },
          // What auditors see first in the Web UI: no personal data, only units and the call.
          staticSummary: `${registration.pilotUnit.name}（${registration.province}）· ${call.name}`,
          staticDetails: [
            `**试点 pilot** ${pilotId}`,
            `**试点单位 pilot unit** ${registration.pilotUnit.name}`,
            `**申报单位 applicant unit** ${registration.applicantUnit.name}`,
            `**申报通知 call** ${call.name} (${call.id})`,
            `**登记 registered by** ${req.actor.id} (${req.actor.role})`,
          ].join('\n\n'),
          typedSearchAttributes: [
            { key: PilotCallId, value: call.id },
            { key: PilotProvince, value: registration.province },
            { key: PilotUnitCode, value: registration.pilotUnit.code },
            { key: PilotPhase, value: 'registered' },
            { key: PilotNextDue, value: new Date(call.submissionDeadline) },
          ],
          args: [{ pilotId, registration, call, registeredBy: req.actor }],
        });
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw problemFromTemporal(error) ?? error;
        // The same request again (same key) gets the pilot it created; anyone else is refused.
        handle = client.workflow.getHandle(pilotId);
        const { memo } = await temporal(() => handle.describe());
        if (memo?.idempotencyKey !== req.idempotencyKey) throw new Problem('PILOT_ALREADY_REGISTERED');
      }
      const state = await temporal(() => handle.query(pilotStateQuery));
      res.status(201).location(`/pilots/${pilotId}`).json(view(state, req.actor.role));
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/pilots',
      roles: READERS,
      summary: '试点列表（按申报通知、阶段筛选，分页）/ List pilots with filters and paging',
      tag: 'pilots',
      query: ListQuery,
    },
    async (req, res) => {
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
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/pilots/:pilotId',
      roles: READERS,
      summary: '试点的实时状态（来自工作流）/ The pilot with its live workflow state',
      tag: 'pilots',
    },
    async (req, res) => {
      const state = await temporal(() =>
        client.workflow.getHandle(req.params.pilotId as string).query(pilotStateQuery),
      );
      res.json(view(state, req.actor.role));
    },
  );

  // The application form with its sealed PDF, as multipart/form-data: a "form" JSON field and a "pdf" file.
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: pdfMaxBytes, files: 1, fields: 1, fieldSize: 1024 * 1024, parts: 2 },
    defParamCharset: 'utf8',
  } as multer.Options).single('pdf');
  const receiveUpload: RequestHandler = (req, res, next) => {
    if (!req.is('multipart/form-data'))
      return next(new Problem('UNSUPPORTED_MEDIA_TYPE', 'multipart/form-data with "form" and "pdf"'));
    upload(req, res, (error: unknown) => {
      if (error instanceof multer.MulterError) {
        return next(
          error.code === 'LIMIT_FILE_SIZE'
            ? new Problem('PAYLOAD_TOO_LARGE', `PDF over ${pdfMaxBytes} bytes`)
            : new Problem('VALIDATION_FAILED', error.message),
        );
      }
      // Busboy's own complaints (no boundary, a cut-off body) are malformed requests.
      next(error ? new Problem('MALFORMED_REQUEST', (error as Error).message) : undefined);
    });
  };
  routes.add(
    {
      method: 'post',
      path: '/pilots/:pilotId/submission',
      roles: STAFF,
      summary: '提交申报书及盖章 PDF / Submit the application form with the sealed PDF',
      tag: 'pilot actions',
      multipart: { jsonField: 'form', schema: ApplicationForm, fileField: 'pdf' },
      write: true,
    },
    receiveUpload,
    async (req, res) => {
      let json: unknown;
      try {
        json = JSON.parse(String((req.body as { form?: unknown } | undefined)?.form ?? ''));
      } catch {
        throw new Problem('VALIDATION_FAILED', undefined, [
          { path: 'form', code: 'invalid_json', message: 'the "form" field must be JSON' },
        ]);
      }
      const withNul = nulPath(json);
      if (withNul !== null) {
        throw new Problem('VALIDATION_FAILED', undefined, [
          { path: `form.${withNul}`, code: 'invalid_characters', message: 'NUL characters are not allowed' },
        ]);
      }
      const parsed = ApplicationForm.safeParse(json);
      if (!parsed.success) {
        throw new Problem(
          'VALIDATION_FAILED',
          undefined,
          fieldProblems(parsed.error).map((p) => ({ ...p, path: `form.${p.path}` })),
        );
      }
      // The rules that need the call and the registration, with field paths (the workflow checks them again).
      const pilotId = req.params.pilotId as string;
      const registered = await temporal(() => client.workflow.getHandle(pilotId).query(pilotStateQuery));
      const callRow = await db.call.findUnique({ where: { id: registered.callId } });
      if (!callRow) throw new Problem('CALL_NOT_FOUND');
      const issues = formIssuesAgainst(parsed.data, CallInput.parse(callRow.config), {
        pilotUnitName: registered.pilotUnit.name,
        applicantUnitName: registered.applicantUnit.name,
        provincial: registered.provincial,
      });
      if (issues.length)
        throw new Problem(
          'VALIDATION_FAILED',
          undefined,
          issues.map((i) => ({ ...i, path: `form.${i.path}` })),
        );
      const file = req.file;
      if (!file) throw new Problem('PDF_REQUIRED');
      if (!file.buffer.subarray(0, PDF_MAGIC.length).equals(PDF_MAGIC)) throw new Problem('PDF_NOT_PDF');
      const fileName = file.originalname.normalize('NFC');
      const expected = expectedPdfName(parsed.data.basic.applicantUnit);
      if (fileName !== expected) throw new Problem('PDF_WRONG_NAME', `expected ${expected}`);
      const { sha256, sizeBytes } = await store.put(file.buffer);
      const state = await act(
        pilotId,
        submitUpdate,
        { form: parsed.data, pdf: { sha256, fileName, sizeBytes }, actor: req.actor },
        req.idempotencyKey,
      );
      res.json(view(state, req.actor.role));
    },
  );

  action(
    'expert-scores',
    '专家评分（本省专家回避）/ An expert’s score (experts from the applicant’s province recuse)',
    REVIEWERS,
    ExpertScore,
    scoreUpdate,
  );
  action(
    'review-decision',
    '评审结论：立项（核定经费）或不予立项 / Panel decision: approve with an amount, or reject',
    STAFF,
    ReviewDecision,
    decideReviewUpdate,
  );
  action('objections', '公示期内的异议 / An objection during the public notice', STAFF, Objection, objectUpdate);
  action('midterm-report', '中期报告 / Midterm report received', STAFF, MidtermReport, midtermReportUpdate);
  action('midterm-evaluation', '中期评审结论 / Midterm evaluation result', REVIEWERS, Verdict, midtermEvaluationUpdate);
  action(
    'final-report',
    '结项报告（试点报告、典型案例、制度创新）/ Final report',
    STAFF,
    FinalReport,
    finalReportUpdate,
  );
  action('acceptance', '结项验收结论 / Final acceptance result', REVIEWERS, Verdict, acceptanceUpdate);
  action('rectification', '整改报告 / Rectification report', STAFF, Rectification, rectificationUpdate);
  action(
    'extensions',
    '延期（中期报告、结项报告、验收）/ Move a due date, with a reason',
    STAFF,
    Extension,
    extendUpdate,
  );
  action('withdrawal', '撤销试点 / Withdraw the pilot, with a reason', STAFF, Withdrawal, withdrawUpdate);
  action('integrity-flag', '弄虚作假认定 / Flag false material', STAFF, IntegrityFlag, integrityUpdate);

  routes.add(
    {
      method: 'post',
      path: '/pilots/:pilotId/tranches/:tranche/confirmation',
      roles: FINANCE,
      summary: '财务确认拨款已执行 / Finance confirms a payment instruction was executed',
      tag: 'pilot actions',
      body: Confirmation,
      write: true,
    },
    async (req, res) => {
      const tranche = Tranche.safeParse(req.params.tranche);
      if (!tranche.success) throw new Problem('NOT_FOUND', 'tranche: first or tail');
      const { reference } = parseBody(Confirmation, req.body);
      const state = await act(
        req.params.pilotId as string,
        confirmTrancheUpdate,
        { tranche: tranche.data, reference, actor: req.actor },
        req.idempotencyKey,
      );
      res.json(view(state, req.actor.role));
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/pilots/:pilotId/ledger',
      roles: READERS,
      summary: '拨款台账 / The pilot’s payment ledger',
      tag: 'pilots',
    },
    async (req, res) => {
      await knownPilot(req.params.pilotId as string);
      const rows = await db.ledgerEntry.findMany({
        where: { pilotId: req.params.pilotId as string },
        orderBy: { id: 'asc' },
      });
      res.json({ items: rows.map((row) => ({ ...row, id: String(row.id) })) });
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/pilots/:pilotId/publicity',
      roles: STAFF,
      summary: '列入成果宣传（已结项）/ Mark a closed pilot’s outcomes for publicity',
      tag: 'pilot actions',
      body: Publicity,
      write: true,
    },
    async (req, res) => {
      const { note } = parseBody(Publicity, req.body);
      const step = `publicity:${req.idempotencyKey}`;
      const pilotId = req.params.pilotId as string;
      const earlier = await db.auditEvent.findUnique({ where: { pilotId_step: { pilotId, step } } });
      if (earlier) {
        res.json({ pilotId, publicityNote: earlier.reason, publicityMarkedAt: earlier.occurredAt.toISOString() });
        return;
      }
      const row = await db.pilot.findUnique({ where: { id: pilotId } });
      if (!row) throw new Problem('PILOT_NOT_FOUND');
      if (row.phase !== 'closed') throw new Problem('NOT_CLOSED', row.phase);
      const at = new Date();
      const write = db.$transaction([
        db.pilot.update({ where: { id: row.id }, data: { publicityNote: note, publicityMarkedAt: at } }),
        db.auditEvent.create({
          data: {
            pilotId: row.id,
            step,
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
      try {
        await write;
      } catch (error) {
        // The same request, concurrently: the first one's result stands.
        const first = await db.auditEvent.findUnique({ where: { pilotId_step: { pilotId, step } } });
        if (!first) throw error;
        res.json({ pilotId, publicityNote: first.reason, publicityMarkedAt: first.occurredAt.toISOString() });
        return;
      }
      res.json({ pilotId: row.id, publicityNote: note, publicityMarkedAt: at.toISOString() });
    },
  );
}
