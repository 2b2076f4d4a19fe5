/**
 * Metrics from real processes: the worker as operators run it (`worker/main.ts`, its SDK runtime
 * serving Prometheus on WORKER_METRICS_ADDRESS) and the API's `GET /metrics`, scraped after real
 * requests went through the stack. Route labels are templates: no pilot id ever becomes a label.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import { freePort } from '../scripts/temporal-server';
import { metricsEndpoint } from '../api/metrics';
import { sha256 } from '../worker/bundle';
import { ARTIFACTS } from './support/environment';
import { call, startStack, type Stack } from './support/stack';
import { live, openCall, registerPilot, waitUntil } from './support/pilots';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process';

/** One sample of Prometheus' text format: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!;
    }
    out.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return out;
}

const find = (all: Sample[], name: string, labels: Record<string, string> = {}) =>
  all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

let stack: Stack;
let worker: WorkerProcess;
let workerMetricsUrl: string;

beforeAll(async () => {
  // The API in this process, the worker as a process of its own on the stack's task queue.
  stack = await startStack({ worker: false });
  workerMetricsUrl = `http://127.0.0.1:${await freePort()}/metrics`;
  worker = await startWorkerProcess({
    TASK_QUEUE: stack.taskQueue,
    DATABASE_URL: stack.databaseUrl,
    WORKER_METRICS_ADDRESS: new URL(workerMetricsUrl).host,
    // A cache of two, so that a third pilot evicts one; limits passed through to the SDK as set.
    WORKER_MAX_CACHED_WORKFLOWS: '2',
    WORKER_MAX_CONCURRENT_ACTIVITIES: '7',
  });
});

afterAll(async () => {
  await worker?.stop();
  await stack?.stop();
});

test('API and worker metrics after registrations: route templates, Temporal calls, the bounded cache', async () => {
  const callId = await openCall(stack);
  const pilotIds = [];
  for (let i = 0; i < 3; i++) pilotIds.push(await registerPilot(stack, callId));
  const [pilotId] = pilotIds as [string];
  // Registration answers before the workflow's first task; a query that meets a pending first task
  // is answered with it, without a replay. So: every pilot's first task done and nothing pending,
  // then the three queried in turn: with room for two, at least one of them is not in the cache and
  // its query replays its history.
  for (const id of pilotIds) {
    await waitUntil(
      async () => {
        const { raw } = await stack.client.workflow.getHandle(id).describe();
        if (raw.pendingWorkflowTask) return false;
        const { events } = await stack.client.workflow.getHandle(id).fetchHistory();
        return (events ?? []).some((event) => event.workflowTaskCompletedEventAttributes);
      },
      15_000,
      'the pilot’s first workflow task',
    );
  }
  for (const id of pilotIds) expect((await live(stack, id)).phase).toBe('registered');
  // A query's replay is not timed as a task replay; an Update is a real task. One out of turn for
  // each pilot (refused by its validator, so nothing changes): the evicted ones replay their history.
  for (const id of pilotIds) {
    await stack.client.workflow
      .getHandle(id)
      .executeUpdate('decideReview', { args: [{}] })
      .then(
        () => Promise.reject(new Error('an Update out of turn was accepted')),
        () => undefined,
      );
  }
  expect((await call(stack, 'GET', '/health/ready')).status).toBe(200);
  expect((await call(stack, 'GET', `/pilots/${pilotId}/no-such-thing`)).status).toBe(404);

  // The API: open without METRICS_TOKEN, Prometheus' text format.
  const scraped = await fetch(`${stack.baseUrl}/metrics`);
  expect(scraped.status).toBe(200);
  expect(scraped.headers.get('content-type')).toMatch(/^text\/plain/);
  const apiText = await scraped.text();
  const api = samples(apiText);

  const requests = (method: string, route: string, status: string) =>
    find(api, 'http_requests_total', { method, route, status }).reduce((sum, s) => sum + s.value, 0);
  expect(requests('POST', '/calls', '201')).toBeGreaterThanOrEqual(1);
  expect(requests('POST', '/pilots', '201')).toBe(3);
  expect(requests('GET', '/pilots/:pilotId', '200')).toBeGreaterThanOrEqual(1);
  expect(requests('GET', '/health/ready', '200')).toBeGreaterThanOrEqual(1);
  expect(requests('GET', 'unmatched', '404')).toBeGreaterThanOrEqual(1);
  expect(find(api, 'http_request_duration_seconds_count', { route: '/pilots', status: '201' })).toHaveLength(1);
  // No id of a pilot or call anywhere: not in a label, not in the text at all.
  for (const id of pilotIds) expect(apiText).not.toContain(id);
  expect(apiText).not.toContain(callId);
  for (const sample of find(api, 'http_requests_total')) {
    expect(sample.labels.route === 'unmatched' || sample.labels.route!.startsWith('/')).toBe(true);
  }
  // Calls into Temporal: the readiness probe's, and each registration's workflow start.
  expect(
    find(api, 'temporal_client_call_duration_seconds_count', { operation: 'system_info', outcome: 'ok' })[0]?.value,
  ).toBeGreaterThanOrEqual(1);
  expect(
    find(api, 'temporal_client_call_duration_seconds_count', { operation: 'start', outcome: 'ok' })[0]?.value,
  ).toBe(pilotIds.length);
  // The process's own.
  expect(find(api, 'process_cpu_user_seconds_total')).toHaveLength(1);
  expect(find(api, 'nodejs_heap_size_used_bytes')).toHaveLength(1);

  // The worker's SDK runtime: cache and task latencies once it has run the pilot's workflow task.
  let workerText = '';
  await waitUntil(
    async () => {
      workerText = await (await fetch(workerMetricsUrl)).text();
      return /^temporal_workflow_task_execution_latency_count\{.*\} [1-9]/m.test(workerText);
    },
    15_000,
    'the worker’s workflow task latency',
  );
  // What a scrape looks like, for the README's tables.
  fs.writeFileSync(path.join(ARTIFACTS, 'metrics-api.txt'), apiText);
  fs.writeFileSync(path.join(ARTIFACTS, 'metrics-worker.txt'), workerText);
  const sdk = samples(workerText);
  const names = new Set(sdk.map((s) => s.name));
  for (const name of [
    'temporal_sticky_cache_size',
    'temporal_workflow_task_execution_latency_bucket',
    'temporal_workflow_task_schedule_to_start_latency_bucket',
    'temporal_workflow_task_replay_latency_bucket',
    'temporal_worker_task_slots_available',
  ]) {
    expect(names).toContain(name);
  }
  // The cache holds at most WORKER_MAX_CACHED_WORKFLOWS; the third pilot evicted one.
  const value = (name: string, labels: Record<string, string> = {}) =>
    find(sdk, name, labels).reduce((sum, s) => sum + s.value, 0);
  expect(value('temporal_sticky_cache_size')).toBeGreaterThanOrEqual(1);
  expect(value('temporal_sticky_cache_size')).toBeLessThanOrEqual(2);
  expect(value('temporal_sticky_cache_total_forced_eviction')).toBeGreaterThanOrEqual(1);
  // The evicted pilot's query went to the shared queue with its whole history: a replay.
  expect(value('temporal_workflow_task_replay_latency_count')).toBeGreaterThanOrEqual(1);
  const activitySlots = { worker_type: 'ActivityWorker' };
  expect(
    value('temporal_worker_task_slots_available', activitySlots) +
      value('temporal_worker_task_slots_used', activitySlots),
  ).toBe(7);
  expect(find(sdk, 'temporal_workflow_task_execution_latency_count', { task_queue: stack.taskQueue })).not.toEqual([]);
  for (const id of pilotIds) expect(workerText).not.toContain(id);

  // The worker said which bundle it runs: the file's sha256 (the test bundle has no manifest).
  const started = worker
    .output()
    .split('\n')
    .find((line) => line.includes('"msg":"worker started"'));
  const bundlePath = process.env.TEST_WORKFLOW_BUNDLE!;
  expect(JSON.parse(started!)).toMatchObject({
    workflowBundle: { path: bundlePath, sha256: sha256(fs.readFileSync(bundlePath)) },
    maxCachedWorkflows: 2,
    metrics: workerMetricsUrl,
  });
}, 60_000);

test('with METRICS_TOKEN, /metrics answers only to that bearer token', async () => {
  const token = 'metrics-scraper-token-0123456789';
  const app = express().get('/metrics', metricsEndpoint(token));
  // Refusals go through the API's problem handler in the product; here the status is enough.
  app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status((error as { code?: string }).code === 'UNAUTHENTICATED' ? 401 : 500).end();
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  try {
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong-token-wrong-token-00' } })).status).toBe(401);
    const answer = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(answer.status).toBe(200);
    expect(await answer.text()).toContain('# TYPE http_requests_total counter');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
