import type { ApiDeps } from '../app';
import { AUDIT, type ApiRoutes } from '../registry';

/** Every decision and automatic step of a pilot, as the activities wrote them. */
export function auditRoutes(routes: ApiRoutes, { db }: ApiDeps): void {
  routes.add(
    {
      method: 'get',
      path: '/pilots/:pilotId/audit',
      roles: AUDIT,
      summary: '试点审计轨迹 / The pilot’s audit trail',
      tag: 'audit',
    },
    async (req, res) => {
      const rows = await db.auditEvent.findMany({
        where: { pilotId: req.params.pilotId as string },
        orderBy: { id: 'asc' },
      });
      res.json({ items: rows.map((row) => ({ ...row, id: String(row.id) })) });
    },
  );
}
