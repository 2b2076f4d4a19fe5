import { z } from 'zod';
import { Slug } from '../../domain/call';
import type { ApiDeps } from '../deps';
import { Problem } from '../problem';
import { integrityRecords } from '../registration-rules';
import { AUDIT, type ApiRoutes } from '../registry';
import { parseBody } from '../validate';

const UnitQuery = z.object({ name: z.string().trim().min(2).max(100).optional() });

/** A unit's record across calls: what registration checks (弄虚作假 bars a unit from later calls). */
export function unitRoutes(routes: ApiRoutes, { db }: ApiDeps): void {
  routes.add(
    {
      method: 'get',
      path: '/units/:unitCode/integrity',
      roles: AUDIT,
      summary: '单位诚信记录（弄虚作假）/ A unit’s integrity record across calls',
      tag: 'units',
      query: UnitQuery,
    },
    async (req, res) => {
      const parsed = Slug.safeParse(req.params.unitCode);
      if (!parsed.success) throw new Problem('NOT_FOUND', `unit code: ${String(req.params.unitCode)}`);
      const code = parsed.data;
      const { name } = parseBody(UnitQuery, req.query);
      const items = await integrityRecords(db, { code, name });
      res.json({ unitCode: code, name: name ?? null, items });
    },
  );
}
