import { durationInWords } from '../domain/duration';
import { beijingDate, beijingEndDate, beijingWallClock } from '../domain/time';
import type { PublicNotice } from './routes/public-notice';

/** Every text that reaches the page goes through this: unit names and call names are user input. */
const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * The call's name as the notice's sentence needs it: without a trailing English gloss in brackets
 * ("2020年第二批地方科协深化改革工作试点 (2020 second batch …)" reads "…工作试点").
 */
function chineseName(callName: string): string {
  return callName.replace(/\s*[(（][^（）()\u4e00-\u9fff]*[)）]\s*$/, '').trim() || callName;
}

const STYLE = `body{font-family:"Noto Serif CJK SC","Noto Sans CJK SC","SimSun",serif;margin:2cm;line-height:1.7;color:#000}
h1{text-align:center;font-size:20pt;line-height:1.4}p.en,small{color:#444;font-size:9pt}
table{border-collapse:collapse;width:100%;margin:1em 0}td,th{border:1px solid #000;padding:4pt 6pt;vertical-align:top}
th small{display:block;font-weight:normal}.n{text-align:right;white-space:nowrap}.d,.s{white-space:nowrap}
p.empty{text-align:center;font-size:14pt;margin:3em 0}div.contact{margin-top:2em}p.sign{text-align:right;margin-top:2em}
@media print{body{margin:1cm}}`;

/** The office's contact at the foot; a line the call does not give is left out. */
function contactBlock(office: PublicNotice['office']): string {
  const lines = [
    ['联系单位', 'Office', office.name],
    ['联系人', 'Contact', office.contactName],
    ['联系电话', 'Phone', office.phone],
    ['电子信箱', 'E-mail', office.email],
  ]
    .filter((line): line is [string, string, string] => Boolean(line[2]))
    .map(([zh, en, value]) => `${zh}<small> ${en}</small>：${escape(value)}`);
  return `<div class="contact">${lines.join('<br>\n')}</div>`;
}

/**
 * 评审结果公示 as an office publishes it: the sentence with the period in words and its dates, the
 * table with each pilot's own dates and status, whom to write to with an objection, and the
 * office's signature dated the day the notice began. No pilots yet: "暂无公示", not an error.
 */
export function publicNoticePage(notice: PublicNotice): string {
  const title = `${escape(notice.callName)}<br>评审结果公示`;
  const head = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escape(chineseName(notice.callName))} 评审结果公示</title><style>${STYLE}</style></head>
<body><h1>${title}</h1>`;
  const office = escape(notice.office.name);
  if (notice.items.length === 0) {
    return `${head}
<p class="empty">暂无公示。</p>
<p class="en">No review results are in public notice for this call at present.</p>
${contactBlock(notice.office)}
</body></html>`;
  }
  const starts = notice.items.map((p) => p.publicNotice.startedAt).sort();
  const ends = notice.items.map((p) => p.publicNotice.endsAt).sort();
  const from = beijingDate(starts[0]!);
  const to = beijingEndDate(ends.at(-1)!);
  const name = chineseName(notice.callName);
  const rows = notice.items
    .map(
      (p, i) =>
        `<tr><td class="s">${i + 1}</td><td>${escape(p.pilotUnitName)}</td><td>${escape(p.applicantUnitName)}</td>` +
        `<td class="s">${escape(p.province)}</td><td>${escape(p.themes.join('、') || '—')}</td>` +
        `<td class="n">${escape(p.approvedAmountYuan)}</td>` +
        `<td class="d">${escape(beijingWallClock(p.publicNotice.startedAt))} 至<br>${escape(beijingWallClock(p.publicNotice.endsAt))}</td>` +
        `<td class="s">${escape(p.statusText)}</td></tr>`,
    )
    .join('\n');
  return (
    `${head}
<p>经专家评审，拟确定以下单位为${escape(name)}${name.endsWith('试点') ? '' : '的'}试点单位，现予以公示。` +
    `公示期为${escape(notice.periodText)}（${escape(from)} 至 ${escape(to)}）。` +
    `公示期内，如对公示单位有异议，请以书面形式向${office}反映，并写明理由、提供必要的证明材料及联系方式。</p>
<p class="en">Public notice of the expert review results: the units below are proposed as pilot units.
The notice period is ${escape(durationInWords(notice.period, 'en'))}
(${escape(from)} to ${escape(to)}, Beijing time); objections in writing, with reasons, to the office named below.</p>
<table><thead><tr><th class="s">序号<small>No.</small></th><th>试点单位<small>Pilot unit</small></th>` +
    `<th>申报单位<small>Applicant unit</small></th><th class="s">省份<small>Province</small></th>` +
    `<th>试点内容<small>Themes</small></th><th>拟资助金额（元）<small>Amount (CNY)</small></th>` +
    `<th>公示时间（北京时间）<small>Notice period (Beijing time)</small></th><th class="s">状态<small>Status</small></th></tr></thead>
<tbody>
${rows}
</tbody></table>
${contactBlock(notice.office)}
<p class="sign">${office}<br>${escape(from)}</p>
</body></html>`
  );
}
