/**
 * 评审结果公示, as the public sees it: no token, over real HTTP and in headless Chromium, on real
 * Temporal and PostgreSQL. Only pilots in their notice or past it for the current review round are
 * listed, each with its dates and status; withdrawn, 弄虚作假, rejected and objected ones are not;
 * no personal data; a client that asks too often is refused with 429 RATE_LIMITED.
 */
import http from 'node:http';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/browser';
import type { PublicNotice } from '../api/routes/public-notice';
import { formatBeijing } from '../domain/time';
import { ARTIFACTS } from './support/environment';
import { act, approvedPilot, openCall, registerPilot, submit, waitForPhase, waitUntil } from './support/pilots';
import { call, startStack, type Stack } from './support/stack';

/** This file's limit: far above what its other tests ask from 127.0.0.1, reached on purpose from 127.0.0.2. */
const LIMIT = 30;

const OFFICE = {
  name: '中国科协改革工作办公室',
  email: 'reform-office@reform.test',
  contactName: '张明',
  phone: '010-68571234',
};

let stack: Stack;
let browser: Browser | undefined;

beforeAll(async () => {
  stack = await startStack({ publicRateLimitPerMinute: LIMIT });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** The public list, fetched as anyone: no Authorization header at all. */
const publicList = (callId: string) =>
  call<PublicNotice>(stack, 'GET', `/calls/${callId}/public-notice`, undefined, { as: null });
const publicPage = (callId: string) =>
  call<string>(stack, 'GET', `/calls/${callId}/public-notice.html`, undefined, { as: null });

/** The pilot's row as the workflow last wrote it (the list is read from these rows). */
const rowOf = (pilotId: string) => stack.db.pilot.findUniqueOrThrow({ where: { id: pilotId } });

async function rowReaches(pilotId: string, check: (row: Awaited<ReturnType<typeof rowOf>>) => boolean) {
  await waitUntil(async () => check(await rowOf(pilotId)), 15_000, `row of ${pilotId}`);
}

/** What no public page may show: applicants' contacts, the form's people, actors, reasons. */
const PERSONAL = [
  '@pilot.test',
  'head@zjkx.test',
  '@zjkx.example.org',
  '王主任',
  '李处长',
  '王建国',
  '李红梅',
  '13800138000',
  '0571-87654321',
  'admin-ops',
  'clerk-li',
  '评审通过',
  '主动退出',
  '弄虚作假材料',
  '实名举报',
  '评审未通过',
];

let callId: string;
let inNotice: string;
let coded: string;
let reapproved: string;
const excluded: Record<string, string> = {};

describe('a call with pilots in every state a notice can be in', () => {
  beforeAll(async () => {
    callId = await openCall(stack, { publicNoticePeriod: '1h' }, 120, { office: OFFICE });
    // Approved, in notice: one with a free-text province, one with its GB/T 2260 code.
    inNotice = await approvedPilot(stack, callId, 360_000_00);
    coded = await approvedPilot(stack, callId, 320_000_00, '330000');

    excluded.withdrawn = await approvedPilot(stack, callId);
    await act(stack, excluded.withdrawn, 'withdrawal', { reason: '主动退出' });
    excluded.integrity = await approvedPilot(stack, callId);
    await act(stack, excluded.integrity, 'integrity-flag', { reason: '弄虚作假材料' });
    excluded.objected = await approvedPilot(stack, callId);
    await act(stack, excluded.objected, 'objections', { reason: '实名举报' });

    excluded.rejected = await registerPilot(stack, callId);
    await submit(stack, excluded.rejected);
    await act(stack, excluded.rejected, 'expert-scores', {
      expert: { id: 'expert-1', province: '江苏' },
      score: 40,
      comment: '基础薄弱',
    });
    await act(stack, excluded.rejected, 'review-decision', { outcome: 'rejected', reason: '评审未通过' });
    excluded.registered = await registerPilot(stack, callId);

    // Objected, then approved again: listed with the dates of its second notice.
    reapproved = await approvedPilot(stack, callId, 300_000_00);
    await act(stack, reapproved, 'objections', { reason: '实名举报' });
    // The new review round needs its own scores.
    await act(stack, reapproved, 'expert-scores', {
      expert: { id: 'expert-2', province: '江苏' },
      score: 85,
      comment: '复核',
    });
    await act(stack, reapproved, 'review-decision', { outcome: 'approved', amountFen: 310_000_00, reason: '评审通过' });

    for (const id of [inNotice, coded, reapproved]) await rowReaches(id, (r) => r.publicNoticeStartedAt !== null);
    await rowReaches(excluded.withdrawn!, (r) => r.phase === 'withdrawn');
    await rowReaches(excluded.integrity!, (r) => r.phase === 'integrity_failed');
    await rowReaches(excluded.objected!, (r) => r.phase === 'under_review');
    await rowReaches(excluded.rejected!, (r) => r.phase === 'rejected');
  }, 90_000);

  test('the objection cleared the notice dates on the row; the next approval set new ones', async () => {
    expect(await rowOf(excluded.objected!)).toMatchObject({ publicNoticeStartedAt: null, publicNoticeEndsAt: null });
    const row = await rowOf(reapproved);
    expect(row.publicNoticeEndsAt!.getTime() - row.publicNoticeStartedAt!.getTime()).toBe(3600_000);
  });

  test('the JSON list needs no token and holds only the pilots in notice, with their dates', async () => {
    const answer = await publicList(callId);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      callId,
      period: '1h',
      periodText: '1 小时',
      office: OFFICE,
    });
    expect(answer.body.items.map((i) => i.pilotId).sort()).toEqual([inNotice, coded, reapproved].sort());
    const item = answer.body.items.find((i) => i.pilotId === inNotice)!;
    const row = await rowOf(inNotice);
    expect(item).toEqual({
      pilotId: inNotice,
      pilotUnitName: row.pilotUnitName,
      applicantUnitName: '浙江省科学技术协会',
      // Registered as "浙江": the official name is shown.
      province: '浙江省',
      themes: ['基层组织改革', '联系服务科技工作者'],
      approvedAmountFen: 360_000_00,
      approvedAmountYuan: '360,000.00',
      publicNotice: {
        startedAt: row.publicNoticeStartedAt!.toISOString(),
        endsAt: row.publicNoticeEndsAt!.toISOString(),
        beijingTime: {
          startedAt: formatBeijing(row.publicNoticeStartedAt!),
          endsAt: formatBeijing(row.publicNoticeEndsAt!),
        },
      },
      status: 'in-notice',
      statusText: '公示中',
    });
    expect(Date.parse(item.publicNotice.endsAt) - Date.parse(item.publicNotice.startedAt)).toBe(3600_000);
    // A row holding a GB/T 2260 code shows the official name.
    expect(answer.body.items.find((i) => i.pilotId === coded)).toMatchObject({ province: '浙江省' });
    expect(answer.body.items.find((i) => i.pilotId === reapproved)).toMatchObject({ approvedAmountFen: 310_000_00 });
    expect(answer.headers['cache-control']).toBe('public, max-age=60');
    for (const id of Object.values(excluded)) expect(JSON.stringify(answer.body)).not.toContain(id);
  });

  test('the page needs no token: heading, period in words with its dates, each row dated, the office at the foot', async () => {
    const page = await publicPage(callId);
    expect(page.status).toBe(200);
    expect(page.contentType).toMatch(/^text\/html/);
    const text = page.body;
    const row = await rowOf(inNotice);
    const from = formatBeijing(row.publicNoticeStartedAt!).slice(0, 10);
    expect(text).toContain('评审结果公示');
    expect(text).toContain(`经专家评审，拟确定以下单位为测试申报通知 ${callId}的试点单位，现予以公示。`);
    expect(text).toMatch(new RegExp(`公示期为1 小时（${from} 至 \\d{4}-\\d{2}-\\d{2}）`));
    expect(text).toContain('如对公示单位有异议');
    expect(text).toContain(formatBeijing(row.publicNoticeStartedAt!).replace('（北京时间）', ''));
    expect(text).toContain('360,000.00');
    expect(text).toContain('基层组织改革、联系服务科技工作者');
    expect(text).toContain('浙江省');
    expect(text).toContain('公示中');
    for (const line of ['中国科协改革工作办公室', '张明', '010-68571234', 'reform-office@reform.test']) {
      expect(text).toContain(line);
    }
    for (const id of Object.values(excluded)) expect(text).not.toContain(id.split('.')[1]);
    expect(page.headers['cache-control']).toBe('public, max-age=60');
  });

  test('no personal data in either form: no applicant contacts, no actors, no reasons', async () => {
    const everything = JSON.stringify((await publicList(callId)).body) + (await publicPage(callId)).body;
    for (const personal of PERSONAL) expect([personal, everything.includes(personal)]).toEqual([personal, false]);
  });

  test('a repeat with the ETag is answered 304 Not Modified', async () => {
    const first = await publicList(callId);
    const etag = first.headers.etag!;
    expect(etag).toBeTruthy();
    // Over node:http: fetch turns a conditional request into one that bypasses caches (no-cache).
    const again = await plainGet(`${stack.baseUrl}/calls/${callId}/public-notice`, {
      headers: { 'if-none-match': etag },
    });
    expect([again.status, again.body]).toEqual([304, '']);
  });

  test('in headless Chromium, with no extra headers, the page shows the list (screenshot kept)', async () => {
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const response = await page.goto(`${stack.baseUrl}/calls/${callId}/public-notice.html`);
    expect(response?.status()).toBe(200);
    await expect(page.locator('h1').innerText()).resolves.toContain('评审结果公示');
    expect(await page.locator('tbody tr').count()).toBe(3);
    await expect(page.getByText('公示中').first().isVisible()).resolves.toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'public-notice.png'), fullPage: true });
  }, 60_000);
});

test('a notice that has run its period is listed as 公示期满 (the pilot went on to its work)', async () => {
  const otherCall = await openCall(stack, { publicNoticePeriod: '1s' });
  const pilotId = await approvedPilot(stack, otherCall);
  await waitForPhase(stack, pilotId, 'in_progress');
  await rowReaches(pilotId, (r) => r.phase === 'in_progress');
  const answer = await publicList(otherCall);
  expect(answer.body.items).toEqual([
    expect.objectContaining({ pilotId, status: 'completed', statusText: '公示期满' }),
  ]);
  expect(answer.body.periodText).toBe('1 秒');
});

test('a call without pilots in notice: JSON with no items, a page saying 暂无公示; an unknown call is 404', async () => {
  const empty = await openCall(stack);
  await registerPilot(stack, empty);
  expect((await publicList(empty)).body).toMatchObject({ callId: empty, items: [] });
  const page = await publicPage(empty);
  expect(page.status).toBe(200);
  expect(page.body).toContain('暂无公示');
  expect(page.body).not.toContain('<table');
  for (const missing of [publicList('no-such-call'), publicPage('no-such-call')]) {
    const answer = await missing;
    expect([answer.status, answer.body]).toEqual([404, expect.objectContaining({ code: 'CALL_NOT_FOUND' })]);
  }
});

test('what the page prints is HTML-escaped', async () => {
  const hostile = await openCall(stack, { publicNoticePeriod: '1h' }, 120, {
    name: '<script>alert(1)</script> & “试点”',
    office: { name: '改革办 <b>', email: 'o@reform.test', contactName: '"张"' },
  });
  await rowReaches(await approvedPilot(stack, hostile), (r) => r.publicNoticeStartedAt !== null);
  const page = (await publicPage(hostile)).body;
  expect(page).not.toContain('<script>');
  expect(page).not.toContain('<b>');
  expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; “试点”');
  expect(page).toContain('&quot;张&quot;');
});

/** A GET as plain as it gets (node:http), optionally from another loopback address: another client. */
function plainGet(
  url: string,
  options: { localAddress?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, options, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

test('a client asking too often gets 429 RATE_LIMITED with Retry-After; other clients and staff are not held up', async () => {
  const url = `${stack.baseUrl}/calls/${callId}/public-notice`;
  const answers = [];
  // A full bucket lets LIMIT through at once; the next is refused (one more if a token came back meanwhile).
  while (answers.length <= LIMIT + 2 && answers.at(-1)?.status !== 429)
    answers.push(await plainGet(url, { localAddress: '127.0.0.2' }));
  const refused = answers.at(-1)!;
  expect(refused.status).toBe(429);
  expect(answers.length).toBeGreaterThan(LIMIT);
  expect(answers.slice(0, -1).every((a) => a.status === 200)).toBe(true);
  expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(refused.body)).toMatchObject({
    code: 'RATE_LIMITED',
    status: 429,
    message: '请求过于频繁，请稍后再试',
  });
  expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(refused.headers['cache-control']).toBe('no-store');
  // The page shares the budget of the list.
  expect((await plainGet(`${url}.html`, { localAddress: '127.0.0.2' })).status).toBe(429);
  // Another address is another client; token endpoints are not limited.
  expect((await publicList(callId)).status).toBe(200);
  expect((await call(stack, 'GET', `/calls/${callId}`, undefined, { as: 'auditor' })).status).toBe(200);
});
