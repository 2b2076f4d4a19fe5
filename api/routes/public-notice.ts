import { CallInput } from '../../domain/call';
import { formatYuan } from '../../domain/money';
import { formatBeijing } from '../../domain/time';
import type { ApiDeps } from '../deps';
import { Problem } from '../problem';
import { READERS, type ApiRoutes } from '../registry';

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** 评审结果公示: the approved pilots of a call (unit, theme, amount), as JSON and as a printable page. */
export function publicNoticeRoutes(routes: ApiRoutes, { db }: ApiDeps): void {
  async function approved(callId: string) {
    const callRow = await db.call.findUnique({ where: { id: callId } });
    if (!callRow) throw new Problem('CALL_NOT_FOUND');
    const rows = await db.pilot.findMany({
      where: { callId, approvedAmountFen: { not: null } },
      orderBy: [{ province: 'asc' }, { pilotUnitName: 'asc' }],
    });
    return {
      call: CallInput.parse(callRow.config),
      items: rows.map((r) => ({
        pilotId: r.id,
        pilotUnitName: r.pilotUnitName,
        applicantUnitName: r.applicantUnitName,
        province: r.province,
        themes: r.themes,
        approvedAmountFen: r.approvedAmountFen!,
      })),
    };
  }

  routes.add(
    {
      method: 'get',
      path: '/calls/:callId/public-notice',
      roles: READERS,
      summary: '评审结果公示名单 / Approved pilots of a call (public notice list)',
      tag: 'calls',
    },
    async (req, res) => {
      const { call, items } = await approved(req.params.callId as string);
      res.json({ callId: call.id, callName: call.name, items });
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/calls/:callId/public-notice.html',
      roles: READERS,
      summary: '评审结果公示（可打印页面）/ The public notice as a printable Chinese page',
      tag: 'calls',
      produces: 'text/html',
    },
    async (req, res) => {
      const { call, items } = await approved(req.params.callId as string);
      const rows = items
        .map(
          (p, i) =>
            `<tr><td>${i + 1}</td><td>${escape(p.pilotUnitName)}</td><td>${escape(p.applicantUnitName)}</td>` +
            `<td>${escape(p.province)}</td><td>${escape(p.themes.join('、') || '—')}</td>` +
            `<td class="n">${formatYuan(p.approvedAmountFen)}</td></tr>`,
        )
        .join('\n');
      res.type('html').send(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>${escape(call.name)} 评审结果公示</title>
<style>body{font-family:"Noto Serif CJK SC","SimSun",serif;margin:2cm}h1{text-align:center;font-size:20pt}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #000;padding:4pt 6pt}.n{text-align:right}
p.sign{text-align:right;margin-top:2em}@media print{body{margin:1cm}}</style></head>
<body><h1>${escape(call.name)}<br>评审结果公示</h1>
<p>经专家评审，拟确定以下单位为试点单位，现予以公示。如有异议，请在公示期（${escape(call.timing.publicNoticePeriod)}）内向${escape(call.office.name)}反映。</p>
<table><thead><tr><th>序号</th><th>试点单位</th><th>申报单位</th><th>省份</th><th>试点内容</th><th>资助金额（元）</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<p class="sign">${escape(call.office.name)}<br>${escape(formatBeijing(new Date()).slice(0, 10))}</p>
</body></html>`);
    },
  );
}
