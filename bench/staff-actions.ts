/**
 * How fast staff actions go through the real stack (API → Temporal update → workflow → database):
 * latency of registrations and of the updates that follow, sequential and 10 at a time, and the
 * cost of the payload codec on a complete application form. Figures go to bench/RESULTS.md.
 *
 *   npx tsx bench/staff-actions.ts [pilots=40]
 */
import { performance } from 'node:perf_hooks';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmCodec, newCodecKeys } from '../lib/codec';
import { validForm } from '../test/support/application';
import { startTestEnvironment } from '../test/support/environment';
import { act, openCall, registerPilot, submit } from '../test/support/pilots';
import { startStack, type Stack } from '../test/support/stack';

const pilots = Number(process.argv[2] ?? 40);

function summary(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
  return `${label.padEnd(44)} n=${String(samples.length).padStart(4)}  p50 ${at(0.5).padStart(7)} ms  p95 ${at(0.95).padStart(7)} ms  max ${sorted.at(-1)!.toFixed(1).padStart(7)} ms`;
}

async function timed<T>(samples: number[], work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  samples.push(performance.now() - started);
  return result;
}

async function lifecycle(stack: Stack, callId: string, samples: Record<string, number[]>) {
  const pilotId = await timed(samples.register!, () => registerPilot(stack, callId));
  await timed(samples.submit!, () => submit(stack, pilotId));
  await timed(samples.score!, () =>
    act(stack, pilotId, 'expert-scores', { expert: { id: 'e1', province: '江苏' }, score: 90, comment: '好' }),
  );
  await timed(samples.decide!, () =>
    act(stack, pilotId, 'review-decision', { outcome: 'approved', amountFen: 350_000_00, reason: '通过' }),
  );
}

async function main(): Promise<void> {
  const env = await startTestEnvironment('bench');
  process.env.TEST_DATABASE_URL = env.databaseUrl;
  process.env.TEST_TEMPORAL_ADDRESS = env.temporalAddress;
  process.env.TEST_WORKFLOW_BUNDLE = env.workflowBundlePath;
  const stack = await startStack();
  const lines: string[] = [];
  try {
    const callId = await openCall(stack, { publicNoticePeriod: '1h' }, 3600);
    await lifecycle(stack, callId, { register: [], submit: [], score: [], decide: [] }); // warm-up

    for (const concurrency of [1, 10]) {
      const samples = { register: [], submit: [], score: [], decide: [] } as Record<string, number[]>;
      const started = performance.now();
      for (let i = 0; i < pilots; i += concurrency) {
        await Promise.all(
          Array.from({ length: Math.min(concurrency, pilots - i) }, () => lifecycle(stack, callId, samples)),
        );
      }
      const seconds = (performance.now() - started) / 1000;
      lines.push(
        `-- ${pilots} pilots, ${concurrency} at a time: ${((pilots * 4) / seconds).toFixed(1)} staff actions/s`,
      );
      for (const [step, values] of Object.entries(samples))
        lines.push(summary(`${step} (concurrency ${concurrency})`, values));
    }

    const codec = new AesGcmCodec(newCodecKeys());
    const payload = defaultPayloadConverter.toPayload({ form: validForm('杭州市科协') });
    const rounds = 5000;
    const started = performance.now();
    for (let i = 0; i < rounds; i += 1) await codec.decode(await codec.encode([payload]));
    const perRound = (performance.now() - started) / rounds;
    lines.push(
      `-- codec: encode+decode of one application form (${payload.data!.length} bytes): ${(perRound * 1000).toFixed(1)} µs`,
    );
  } finally {
    await stack.stop();
    await env.stop();
  }
  console.log(lines.join('\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
