/**
 * Walks one demo pilot through the running stack's API (after `bash scripts/up.sh`): a call with a
 * short public notice, registration, the application form with its sealed PDF, an expert score and
 * the approval. Prints where to look next.
 *
 *   npx tsx scripts/demo.ts [http://127.0.0.1:3000]
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { APPLICANT_UNIT, pdfBytes, submissionBody, validForm } from '../test/support/application';

const base = process.argv[2] ?? 'http://127.0.0.1:3000';
const tokens: { token: string; role: string }[] = JSON.parse(
  fs.readFileSync(process.env.API_TOKENS_FILE ?? path.join(__dirname, '..', '.data', 'api-tokens.json'), 'utf8'),
);
const tokenOf = (role: string) => tokens.find((t) => t.role === role)!.token;

async function post(role: string, route: string, body: unknown) {
  const isForm = body instanceof FormData;
  const response = await fetch(`${base}${route}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${tokenOf(role)}`,
      'idempotency-key': randomUUID(),
      ...(isForm ? {} : { 'content-type': 'application/json' }),
    },
    body: isForm ? body : JSON.stringify(body),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${route}: ${response.status} ${JSON.stringify(answer)}`);
  console.log(`${role.padEnd(8)} POST ${route} → ${response.status} ${String(answer.phase ?? answer.id ?? '')}`);
  return answer;
}

async function main(): Promise<void> {
  const callId = `demo-${Date.now().toString(36)}`;
  await post('staff', '/calls', {
    id: callId,
    name: '演示申报通知 (demo call)',
    submissionDeadline: new Date(Date.now() + 7 * 86_400_000).toISOString(),
    funding: { minFen: 300_000_00, maxFen: 400_000_00 },
    period: { start: '2020-07', end: '2021-07' },
    office: { name: '中国科协改革工作办公室', email: 'office@example.org' },
    financeEmail: 'finance@example.org',
    review: { minExpertScores: 1 },
    timing: { publicNoticePeriod: '20s' },
  });
  const pilot = await post('staff', '/pilots', {
    callId,
    pilotUnit: { code: 'hangzhou', name: '杭州市科协' },
    applicantUnit: { name: APPLICANT_UNIT },
    province: '浙江',
    contacts: [{ name: '王主任', email: 'wang@example.org' }],
  });
  const p = `/pilots/${String(pilot.pilotId)}`;
  await post('staff', `${p}/submission`, submissionBody(validForm('杭州市科协'), pdfBytes()));
  await post('reviewer', `${p}/expert-scores`, {
    expert: { id: 'expert-1', province: '江苏' },
    score: 90,
    comment: '方案扎实',
  });
  await post('staff', `${p}/review-decision`, { outcome: 'approved', amountFen: 350_000_00, reason: '专家组评审通过' });
  console.log(`\nThe public notice runs 20 s; then the first tranche is instructed (.data/outbox/*.eml).`);
  console.log(`Live state: curl -H "Authorization: Bearer <token>" ${base}${p}`);
  console.log(`Web UI:     ${String((pilot.links as { temporalUi: string }).temporalUi)}`);
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});
