/** Drives pilots through the HTTP API to the point a test starts from. */
import type { PilotState } from '../../domain/pilot';
import { call, compressedCall, registration, uniqueId, type RequestOptions, type Stack } from './stack';
import { APPLICANT_UNIT, pdfBytes, submissionBody, submitApplication, validForm } from './application';

export type PilotView = PilotState & { beijingTime: Record<string, string> };

/** Request options of finance (confirms, voids, closes reclaims). */
export const finance = { as: 'finance' as const };

/** The pilot's ledger rows, oldest first. */
export const ledgerOf = (stack: Pick<Stack, 'db'>, pilotId: string) =>
  stack.db.ledgerEntry.findMany({ where: { pilotId }, orderBy: { id: 'asc' } });

/** What the stack's SMTP server received for this address about this pilot. */
export const mailsTo = (stack: Pick<Stack, 'smtp'>, address: string, pilotId: string) =>
  stack.smtp.received.filter((m) => m.to.includes(address) && m.text.includes(pilotId));

export async function waitUntil(check: () => Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function live(stack: Stack, pilotId: string): Promise<PilotView> {
  const answer = await call<PilotView>(stack, 'GET', `/pilots/${pilotId}`);
  if (answer.status !== 200) throw new Error(`GET /pilots/${pilotId}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

export async function waitForPhase(stack: Stack, pilotId: string, phase: PilotState['phase'], timeoutMs = 15_000) {
  await waitUntil(async () => (await live(stack, pilotId)).phase === phase, timeoutMs, `phase ${phase}`);
  return live(stack, pilotId);
}

/** POST that must succeed; returns the pilot's new state. */
export async function act(
  stack: Stack,
  pilotId: string,
  path: string,
  body: unknown,
  headers?: Record<string, string>,
) {
  const answer = await call<PilotView>(stack, 'POST', `/pilots/${pilotId}/${path}`, body, headers);
  if (answer.status !== 200) throw new Error(`POST ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

export async function openCall(
  stack: Stack,
  timing: Record<string, unknown> = {},
  secondsToDeadline = 120,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const id = uniqueId('call');
  const created = await call(stack, 'POST', '/calls', compressedCall(id, secondsToDeadline, timing, extra));
  if (created.status !== 201) throw new Error(`POST /calls: ${created.status} ${JSON.stringify(created.body)}`);
  return id;
}

export async function registerPilot(
  stack: Stack,
  callId: string,
  unit = uniqueId('unit'),
  province?: string,
): Promise<string> {
  const answer = await call<PilotView>(stack, 'POST', '/pilots', registration(callId, unit, province));
  if (answer.status !== 201) throw new Error(`POST /pilots: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.pilotId;
}

/** Registered, submitted, scored and approved with `amountFen`; the public notice still runs. */
export async function approvedPilot(
  stack: Stack,
  callId: string,
  amountFen = 350_000_00,
  province?: string,
): Promise<string> {
  const pilotId = await registerPilot(stack, callId, undefined, province);
  await submit(stack, pilotId);
  // Experts from the pilot's own province recuse themselves.
  await act(stack, pilotId, 'expert-scores', {
    expert: { id: 'expert-1', province: province === '江苏' ? '安徽' : '江苏' },
    score: 90,
    comment: '好',
  });
  await act(stack, pilotId, 'review-decision', { outcome: 'approved', amountFen, reason: '评审通过' });
  return pilotId;
}

/** Past the public notice, first tranche instructed: the pilot's work has started. */
export async function pilotInProgress(stack: Stack, callId: string, amountFen?: number, province?: string) {
  const pilotId = await approvedPilot(stack, callId, amountFen, province);
  const state = await waitForPhase(stack, pilotId, 'in_progress');
  return { pilotId, state };
}

export const FINAL_REPORT = {
  reportReference: '地方科协改革试点报告.pdf',
  typicalCases: ['“三长制”进社区典型案例'],
  institutionalInnovations: ['科技志愿服务积分制度'],
};

/** The application handed in another way: staff state when it arrived. */
function withArrival(body: FormData, receivedAt: string | undefined): FormData {
  if (receivedAt) body.append('receivedAt', receivedAt);
  return body;
}

/** Submits a complete valid application with its PDF; must succeed. */
export async function submit(
  stack: Stack,
  pilotId: string,
  options?: RequestOptions,
  receivedAt?: string,
): Promise<PilotView> {
  // The registered applicant unit names the form and the PDF (a pilot of another province applies
  // through that province's association).
  const { applicantUnit } = await live(stack, pilotId);
  const answer =
    applicantUnit.name === APPLICANT_UNIT && receivedAt === undefined
      ? await submitApplication(stack, pilotId, options)
      : await call(
          stack,
          'POST',
          `/pilots/${pilotId}/submission`,
          withArrival(
            submissionBody(
              validForm(`${pilotId.split('.')[1]} 市科协`, applicantUnit.name),
              pdfBytes(pilotId),
              `${applicantUnit.name}.pdf`,
            ),
            receivedAt,
          ),
          options,
        );
  if (answer.status !== 200) throw new Error(`submission: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as unknown as PilotView;
}
