import type { RequestHandler, Response } from 'express';
import multer from 'multer';
import { z } from 'zod';
import { ApplicationForm, expectedPdfName, formIssuesAgainst } from '../../domain/application-form';
import { pdfNameMatches, type SubmittedApplication } from '../../domain/submission';
import { CallInput, Slug } from '../../domain/call';
import {
  entryUntilOf,
  PILOT_PHASES,
  PilotRegistration,
  pilotIdOf,
  type Acting,
  type PilotState,
  type Role,
} from '../../domain/pilot';
import { STAFF_ACTION_SCHEMAS } from '../../domain/staff-action-schemas';
import {
  CLOCK_GRACE_MS,
  STAFF_ACTION_NAMES,
  STAFF_ACTIONS,
  staffAction,
  type StaffActionInput,
  type StaffActionName,
} from '../../domain/staff-actions';
import { storeApplicationForm, submittedForm } from '../application-forms';
import { checkApplicant, checkIntegrity } from '../registration-rules';
import type { ApiDeps } from '../deps';
import { PilotWorkflows, type Acted } from '../pilot-workflows';
import { fieldProblems, Problem, statusOf } from '../problem';
import { findReceived } from '../received';
import { READERS, STAFF, type ApiRoutes } from '../registry';
import { checkJsonShape, parseBody } from '../validate';
import { pilotView } from '../views';

const ListQuery = z.object({
  callId: Slug.optional(),
  phase: z.enum(PILOT_PHASES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
/** The multipart fields beside the PDF: the form's JSON and, for an application handed in, its arrival. */
const SubmissionFields = z.object({
  form: z.string().optional(),
  receivedAt: z.iso.datetime({ offset: true }).optional(),
  /** An application received by e-mail (`GET /calls/:id/received`), instead of an uploaded PDF. */
  receivedId: z.string().trim().min(1).max(200).optional(),
});

/**
 * The arrival time staff state for an application handed in another way (never in the future:
 * a minute's grace for the office's clocks), or undefined: arrived as it is entered, by the
 * workflow's clock (API hosts' clocks may run ahead of Temporal's).
 */
function statedArrival(stated: string | undefined): string | undefined {
  if (stated === undefined) return undefined;
  const now = Date.now();
  if (Date.parse(stated) > now + CLOCK_GRACE_MS) throw new Problem('RECEIVED_IN_FUTURE', stated);
  return new Date(Math.min(Date.parse(stated), now)).toISOString();
}
const Publicity = z.object({ note: z.string().trim().min(1).max(2000) });
const PDF_MAGIC = Buffer.from('%PDF-');
const ACCEPTED_MESSAGE = {
  message: '操作已受理，正在处理；用同一 Idempotency-Key 重复请求可取得结果',
  messageEn:
    'The action was accepted and is being carried out; repeat the request with the same Idempotency-Key for its result',
};

export function pilotRoutes(
  routes: ApiRoutes,
  { client, db, taskQueue, uiUrl, store, pdfMaxBytes, codec, updateResultMs }: ApiDeps,
): void {
  const namespace = client.options.namespace;
  const pilots = new PilotWorkflows(client, taskQueue, codec, updateResultMs);
  /** The pilot's state with its application form (stored by hash) put back. */
  const view = async (state: PilotState, role: Role) =>
    pilotView(state, uiUrl, namespace, role, await submittedForm(db, state));
  /** The pilot's new state, or 202: accepted by its workflow, still running (see PilotWorkflows.act). */
  const answerActed = async (res: Response, pilotId: string, acted: Acted, role: Role) => {
    if (acted.done) {
      res.json(await view(acted.state, role));
      return;
    }
    res
      .status(202)
      .location(`/pilots/${pilotId}`)
      .json({ pilotId, updateId: acted.updateId, status: 'accepted', ...ACCEPTED_MESSAGE });
  };
  const endpointOf = (name: StaffActionName) => {
    const { route } = STAFF_ACTIONS[name];
    return {
      method: 'post' as const,
      path: `/pilots/:pilotId/${route.path}`,
      roles: route.roles,
      summary: route.summary,
      tag: 'pilot actions',
      write: true,
      staffAction: name,
    };
  };

  /**
   * One route per staff action with a JSON body, derived from its table entry. Path segments such
   * as `:tranche` are fields of the action's input: a value the schema refuses is a 404.
   */
  function staffActionRoute<N extends StaffActionName>(name: N) {
    const entry = staffAction(name);
    const schema = STAFF_ACTION_SCHEMAS[name] as z.ZodType<StaffActionInput<N>>;
    const fromPath = [...entry.route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
    const shape = schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType>) : {};
    const body =
      fromPath.length && schema instanceof z.ZodObject
        ? schema.omit(Object.fromEntries(fromPath.map((p) => [p, true])) as Record<string, true>)
        : schema;
    routes.add({ ...endpointOf(name), body }, async (req, res) => {
      const params: Record<string, unknown> = {};
      for (const field of fromPath) {
        const value = shape[field]?.safeParse(req.params[field]);
        if (!value?.success) throw new Problem('NOT_FOUND', `${field}: ${req.params[field]}`);
        params[field] = value.data;
      }
      const raw: unknown = fromPath.length ? { ...(req.body as object), ...params } : req.body;
      const input = parseBody(schema, raw) as StaffActionInput<N>;
      const acting = { ...input, actor: req.actor } as Acting<StaffActionInput<N>>;
      const acted = await pilots.act(req.params.pilotId as string, name, acting, req.idempotencyKey);
      await answerActed(res, req.params.pilotId as string, acted, req.actor.role);
    });
  }

  /**
   * A received e-mail belongs to one pilot: it is claimed before the workflow hears of the
   * submission (two pilots racing for it: one wins, the other gets 409), and released again when
   * the pilot refused the submission and does not hold it.
   */
  async function attachingReceived(
    pilotId: string,
    received: { id: string; callId: string; pdfSha256: string },
    by: string,
    act: () => Promise<Acted>,
  ) {
    const receivedId = received.id;
    // The same PDF recorded again (a mailbox rebuilt with a new UIDVALIDITY) is still one application.
    const twin = await db.receivedApplication.findFirst({
      where: {
        callId: received.callId,
        pdfSha256: received.pdfSha256,
        id: { not: receivedId },
        pilotId: { not: null },
      },
      select: { id: true, pilotId: true },
    });
    if (twin && twin.pilotId !== pilotId) throw new Problem('RECEIVED_ALREADY_ATTACHED', `same PDF as ${twin.id}`);
    const claimed = await db.receivedApplication.updateMany({
      where: { id: receivedId, pilotId: null },
      data: { pilotId, attachedAt: new Date(), attachedBy: by },
    });
    if (claimed.count === 0) {
      const holder = await db.receivedApplication.findUnique({ where: { id: receivedId }, select: { pilotId: true } });
      if (holder?.pilotId !== pilotId) throw new Problem('RECEIVED_ALREADY_ATTACHED');
    }
    try {
      return await act();
    } catch (error) {
      // A refusal (4xx) leaves the mail free for the pilot it belongs to; an outage keeps the claim
      // for the repeat with the same Idempotency-Key.
      // Released only when the pilot's state says it does not hold the mail (unknown: kept).
      if (error instanceof Problem && statusOf(error.code) < 500) {
        const state = await pilots.state(pilotId).catch(() => undefined);
        const held = state?.submission && 'receipt' in state.submission ? state.submission.receipt : undefined;
        if (state && !(held?.via === 'email' && held.receivedId === receivedId)) {
          await db.receivedApplication.updateMany({
            where: { id: receivedId, pilotId },
            data: { pilotId: null, attachedAt: null, attachedBy: null },
          });
        }
      }
      throw error;
    }
  }

  /** 404 for a pilot that was never registered. */
  async function knownPilot(pilotId: string): Promise<void> {
    if (!(await db.pilot.findUnique({ where: { id: pilotId }, select: { id: true } }))) {
      await pilots.exists(pilotId);
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
      const registration = checkApplicant(parseBody(PilotRegistration, req.body));
      const pilotId = pilotIdOf(registration.callId, registration.pilotUnit.code);
      const callRow = await db.call.findUnique({ where: { id: registration.callId } });
      if (!callRow) throw new Problem('CALL_NOT_FOUND');
      const call = CallInput.parse(callRow.config);
      // Applications that arrived by the deadline may be registered and keyed in during the entry period.
      if (Date.now() >= Date.parse(entryUntilOf(call) ?? call.submissionDeadline)) {
        // A repeat of a registration that was answered before the deadline still gets its pilot.
        const repeated = await pilots.registeredWithKey(pilotId, req.idempotencyKey);
        if (repeated) {
          res
            .status(201)
            .location(`/pilots/${pilotId}`)
            .json(await view(repeated, req.actor.role));
          return;
        }
        throw new Problem('REGISTRATION_CLOSED');
      }
      await checkIntegrity(db, call, registration).catch(async (refused: unknown) => {
        // A repeat of a registration answered before the unit's record was made still gets its pilot.
        if (refused instanceof Problem && (await pilots.registeredWithKey(pilotId, req.idempotencyKey))) return;
        throw refused;
      });
      const state = await pilots.register({ pilotId, registration, call, registeredBy: req.actor }, req.idempotencyKey);
      res
        .status(201)
        .location(`/pilots/${pilotId}`)
        .json(await view(state, req.actor.role));
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
      res.json(await view(await pilots.state(req.params.pilotId as string), req.actor.role));
    },
  );

  // The application form with its sealed PDF, as multipart/form-data: a "form" JSON field and a "pdf" file.
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: pdfMaxBytes, files: 1, fields: 3, fieldSize: 1024 * 1024, parts: 4 },
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
    { ...endpointOf('submit'), multipart: { jsonField: 'form', schema: ApplicationForm, fileField: 'pdf' } },
    receiveUpload,
    async (req, res) => {
      const fields = parseBody(SubmissionFields, req.body ?? {});
      let json: unknown;
      try {
        json = JSON.parse(fields.form ?? '');
      } catch {
        throw new Problem('VALIDATION_FAILED', undefined, [
          { path: 'form', code: 'invalid_json', message: 'the "form" field must be JSON' },
        ]);
      }
      checkJsonShape(json, 'form');
      const parsed = ApplicationForm.safeParse(json);
      if (!parsed.success) {
        throw new Problem(
          'VALIDATION_FAILED',
          undefined,
          fieldProblems(parsed.error).map((p) => ({ ...p, path: `form.${p.path}` })),
        );
      }
      // The rules that need the call and the registration, with field paths. The pilot's row is
      // written at its first step; a pilot registered a moment ago is asked directly.
      const pilotId = req.params.pilotId as string;
      const row = await db.pilot.findUnique({ where: { id: pilotId } });
      const registered = row
        ? {
            callId: row.callId,
            pilotUnitName: row.pilotUnitName,
            applicantUnitName: row.applicantUnitName,
            provincial: row.provincial,
          }
        : await pilots.state(pilotId).then((state) => ({
            callId: state.callId,
            pilotUnitName: state.pilotUnit.name,
            applicantUnitName: state.applicantUnit.name,
            provincial: state.provincial,
          }));
      const callRow = await db.call.findUnique({ where: { id: registered.callId } });
      if (!callRow) throw new Problem('CALL_NOT_FOUND');
      const applicant = parsed.data.basic.applicantUnit;
      // The sealed PDF and its arrival: an e-mail in the call's inbox (arrival = the mail server's
      // INTERNALDATE), or an upload of one handed in another way (arrival as staff state it).
      let pdf: { sha256: string; fileName: string; sizeBytes: number };
      let receivedAt: string | undefined;
      let receivedRow: { id: string; callId: string; pdfSha256: string } | undefined;
      let receipt: SubmittedApplication['receipt'];
      if (fields.receivedId !== undefined) {
        if (req.file || fields.receivedAt !== undefined) {
          throw new Problem('VALIDATION_FAILED', undefined, [
            {
              path: 'receivedId',
              code: 'exclusive',
              message: 'either a received e-mail or an uploaded PDF with receivedAt',
            },
          ]);
        }
        const received = await findReceived(db, registered.callId, fields.receivedId);
        if (!received) throw new Problem('RECEIVED_NOT_FOUND', fields.receivedId);
        if (!received.pdfSha256 || !received.attachmentName || !received.pdfSizeBytes) {
          throw new Problem('RECEIVED_WITHOUT_PDF', received.flags.join(', '));
        }
        if (received.pilotId !== null && received.pilotId !== pilotId) throw new Problem('RECEIVED_ALREADY_ATTACHED');
        if (!pdfNameMatches(received.attachmentName, applicant)) {
          throw new Problem('PDF_WRONG_NAME', `expected ${expectedPdfName(applicant)}`);
        }
        pdf = { sha256: received.pdfSha256, fileName: received.attachmentName, sizeBytes: received.pdfSizeBytes };
        receivedAt = received.receivedAt.toISOString();
        receipt = { via: 'email', receivedId: received.id };
        receivedRow = { id: received.id, callId: received.callId, pdfSha256: received.pdfSha256 };
      } else {
        const file = req.file;
        if (!file) throw new Problem('PDF_REQUIRED');
        if (!file.buffer.subarray(0, PDF_MAGIC.length).equals(PDF_MAGIC)) throw new Problem('PDF_NOT_PDF');
        const fileName = file.originalname.normalize('NFC');
        if (!pdfNameMatches(fileName, applicant))
          throw new Problem('PDF_WRONG_NAME', `expected ${expectedPdfName(applicant)}`);
        receivedAt = statedArrival(fields.receivedAt);
        receipt = { via: 'other' };
        const { sha256, sizeBytes } = await store.put(file.buffer);
        pdf = { sha256, fileName, sizeBytes };
      }
      // The form's dates are judged against the day it arrived.
      const issues = formIssuesAgainst(
        parsed.data,
        CallInput.parse(callRow.config),
        registered,
        receivedAt === undefined ? new Date() : new Date(receivedAt),
      );
      if (issues.length)
        throw new Problem(
          'VALIDATION_FAILED',
          undefined,
          issues.map((i) => ({ ...i, path: `form.${i.path}` })),
        );
      // Stored before the workflow hears of it: the workflow keeps only the hash.
      const formHash = await storeApplicationForm(db, parsed.data);
      const input = {
        formHash,
        themes: parsed.data.themes,
        pdf,
        ...(receivedAt === undefined ? {} : { receivedAt }),
        receipt,
        actor: req.actor,
      };
      const acted = receivedRow
        ? await attachingReceived(pilotId, receivedRow, req.actor.id, () =>
            pilots.act(pilotId, 'submit', input, req.idempotencyKey),
          )
        : await pilots.act(pilotId, 'submit', input, req.idempotencyKey);
      await answerActed(res, pilotId, acted, req.actor.role);
    },
  );

  for (const name of STAFF_ACTION_NAMES) if (!STAFF_ACTIONS[name].route.multipart) staffActionRoute(name);

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
