import { z } from 'zod';
import { Slug } from '../../domain/call';
import { beijingTimestamp } from '../../domain/time';
import type { ApiDeps } from '../deps';
import { Problem } from '../problem';
import { AUDIT, type ApiRoutes } from '../registry';
import { parseBody } from '../validate';

const ExportQuery = z.object({
  callId: Slug.optional(),
  pilotId: z.string().min(3).max(90).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  format: z.enum(['json', 'csv']).default('json'),
  limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
});

const COLUMNS = [
  'occurred_at_utc',
  'occurred_at_beijing',
  'pilot_id',
  'step',
  'phase',
  'actor_id',
  'actor_role',
  'reason',
  'run_id',
  'activity_id',
  'update_id',
] as const;

/** RFC 4180 field; a leading =, +, - or @ is quoted away so spreadsheets do not run it as a formula. */
function csvField(value: string | null): string {
  const text = value ?? '';
  const safe = /^[=+\-@]/.test(text) ? `'${text}` : text;
  return /[",\r\n']/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Every decision and automatic step, as the activities wrote them, linked to run, activity and update. */
export function auditRoutes(routes: ApiRoutes, { db }: ApiDeps): void {
  type Row = Awaited<ReturnType<typeof db.auditEvent.findMany>>[number];
  const json = (row: Row) => ({ ...row, id: String(row.id) });

  routes.add(
    {
      method: 'get',
      path: '/pilots/:pilotId/audit',
      roles: AUDIT,
      summary: '试点审计轨迹 / The pilot’s audit trail',
      tag: 'audit',
    },
    async (req, res) => {
      const pilotId = req.params.pilotId as string;
      if (!(await db.pilot.findUnique({ where: { id: pilotId }, select: { id: true } })))
        throw new Problem('PILOT_NOT_FOUND');
      const rows = await db.auditEvent.findMany({ where: { pilotId }, orderBy: { id: 'asc' } });
      res.json({ items: rows.map(json) });
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/audit',
      roles: AUDIT,
      summary: '审计记录导出（JSON 或 CSV）/ Export the audit trail as JSON or CSV',
      tag: 'audit',
      query: ExportQuery,
    },
    async (req, res) => {
      const query = parseBody(ExportQuery, req.query);
      const rows = await db.auditEvent.findMany({
        where: {
          pilotId: query.pilotId,
          pilot: query.callId ? { callId: query.callId } : undefined,
          occurredAt: {
            gte: query.from ? new Date(query.from) : undefined,
            lt: query.to ? new Date(query.to) : undefined,
          },
        },
        orderBy: [{ occurredAt: 'asc' }, { id: 'asc' }],
        take: query.limit,
      });
      if (query.format === 'json') {
        res.json({ items: rows.map(json) });
        return;
      }
      const lines = rows.map((r) =>
        [
          r.occurredAt.toISOString(),
          beijingTimestamp(r.occurredAt),
          r.pilotId,
          r.step,
          r.phase,
          r.actorId,
          r.actorRole,
          r.reason,
          r.runId,
          r.activityId,
          r.updateId,
        ]
          .map(csvField)
          .join(','),
      );
      res
        .type('text/csv; charset=utf-8')
        .attachment(`audit-${query.callId ?? query.pilotId ?? 'all'}.csv`)
        // A byte-order mark so spreadsheet programs read the Chinese text as UTF-8.
        .send(`\uFEFF${[COLUMNS.join(','), ...lines].join('\r\n')}\r\n`);
    },
  );
}
