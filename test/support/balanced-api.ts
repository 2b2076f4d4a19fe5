/**
 * Several API instances behind one client, as a load balancer passes requests to them: each
 * request to the next instance in turn; a refused connection or a 503 goes to the next one, a
 * 202 (accepted, result pending) is asked again — always with the same Idempotency-Key, so a
 * repeat is the same request. Used by the cluster test and the cluster benchmark.
 */
import { randomUUID } from 'node:crypto';
import type { Role } from '../../domain/pilot';
import { pdfBytes, submissionBody, validForm } from './application';
import type { PilotView } from './pilots';
import { call, registration, uniqueId, type ApiAnswer } from './stack';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every fourth pilot fails its midterm: its tail is withheld. */
export const failsMidterm = (i: number) => i % 4 === 3;
export const AMOUNT_FEN = 350_000_00;

export class BalancedApi {
  /** What the client saw on the way: how often a request went again (an API down, a 503, a 202). */
  readonly repeats = { refused: 0, unavailable: 0, accepted: 0 };
  private turn = 0;

  constructor(
    private readonly urls: string[],
    private readonly tokens: Record<Role, string>,
    private readonly maxAttempts = 120,
  ) {}

  async request<T = PilotView>(
    method: 'GET' | 'POST',
    route: string,
    body?: unknown,
    as: Role = 'admin',
  ): Promise<ApiAnswer<T>> {
    const idempotencyKey = method === 'POST' ? randomUUID() : null;
    for (let attempt = 1; ; attempt++) {
      const baseUrl = this.urls[this.turn++ % this.urls.length]!;
      try {
        const answer = await call<T>({ baseUrl, tokens: this.tokens }, method, route, body, { as, idempotencyKey });
        if (answer.status !== 503 && answer.status !== 202) return answer;
        if (answer.status === 503) this.repeats.unavailable++;
        else this.repeats.accepted++;
      } catch {
        // The connection was refused or cut: that API is down (or went down mid-request).
        this.repeats.refused++;
      }
      if (attempt >= this.maxAttempts) throw new Error(`${method} ${route}: no answer after ${attempt} attempts`);
      await sleep(500);
    }
  }

  /** A request that must succeed (200 or 201); its answer. */
  async must(method: 'GET' | 'POST', route: string, body?: unknown, as: Role = 'admin'): Promise<PilotView> {
    const answer = await this.request(method, route, body, as);
    if (answer.status !== 200 && answer.status !== 201) {
      throw new Error(`${method} ${route}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    return answer.body;
  }

  /**
   * The i-th pilot from registration to closed: submitted, scored, approved, the public notice
   * passes, the first tranche confirmed, the midterm passed (tail confirmed) or failed (tail
   * withheld: `failsMidterm`), final report, acceptance passed. Returns its id.
   */
  async lifecycle(callId: string, i: number): Promise<string> {
    const act = (pilotId: string, step: string, body: unknown, as: Role = 'admin') =>
      this.must('POST', `/pilots/${pilotId}/${step}`, body, as);
    const { pilotId } = await this.must('POST', '/pilots', registration(callId, uniqueId('unit')));
    const unitCode = pilotId.split('.')[1]!;
    await act(pilotId, 'submission', submissionBody(validForm(`${unitCode} 市科协`), pdfBytes(pilotId)));
    await act(pilotId, 'expert-scores', { expert: { id: 'expert-1', province: '江苏' }, score: 90, comment: '好' });
    await act(pilotId, 'review-decision', { outcome: 'approved', amountFen: AMOUNT_FEN, reason: '评审通过' });
    for (let state = await this.must('GET', `/pilots/${pilotId}`); state.phase !== 'in_progress';) {
      await sleep(200);
      state = await this.must('GET', `/pilots/${pilotId}`);
    }
    await act(pilotId, 'tranches/first/confirmation', { reference: `BANK-${i}-1` }, 'finance');
    await act(pilotId, 'midterm-report', { reference: '中期报告.pdf' });
    if (failsMidterm(i)) {
      await act(pilotId, 'midterm-evaluation', { outcome: 'failed', reason: '进度滞后' });
    } else {
      await act(pilotId, 'midterm-evaluation', { outcome: 'passed', reason: '良好' });
      await act(pilotId, 'tranches/tail/confirmation', { reference: `BANK-${i}-2` }, 'finance');
    }
    await act(pilotId, 'final-report', {
      reportReference: '地方科协改革试点报告.pdf',
      typicalCases: ['“三长制”进社区典型案例'],
      institutionalInnovations: ['科技志愿服务积分制度'],
    });
    const closed = await act(pilotId, 'acceptance', { outcome: 'passed', reason: '验收通过' });
    if (closed.phase !== 'closed') throw new Error(`${pilotId}: ${closed.phase} after acceptance`);
    return pilotId;
  }

  /**
   * `count` lifecycles, `concurrency` at a time; `onDone` after each (the count so far). Returns
   * the pilot ids by index and each lifecycle's duration in ms (sorted).
   */
  async lifecycles(
    callId: string,
    count: number,
    concurrency: number,
    onDone: (done: number) => void = () => undefined,
  ): Promise<{ pilotIds: string[]; durationsMs: number[]; seconds: number }> {
    let started = 0;
    let done = 0;
    const pilotIds: string[] = [];
    const durationsMs: number[] = [];
    const began = Date.now();
    const next = async (): Promise<void> => {
      while (started < count) {
        const i = started++;
        const t0 = Date.now();
        pilotIds[i] = await this.lifecycle(callId, i);
        durationsMs.push(Date.now() - t0);
        onDone(++done);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, next));
    return { pilotIds, durationsMs: durationsMs.sort((a, b) => a - b), seconds: (Date.now() - began) / 1000 };
  }
}
