/**
 * The worker process: runs pilot workflows and their activities from one task queue. SIGINT or
 * SIGTERM stops polling, lets in-flight activities finish (WORKER_SHUTDOWN_GRACE) and exits 0.
 * It runs the prebuilt bundle WORKFLOW_BUNDLE_PATH (`npm run build`) or bundles the workflows at
 * start, and serves the SDK's Prometheus metrics on WORKER_METRICS_ADDRESS.
 */
import v8 from 'node:v8';
import { Runtime, type LogLevel, type LogMetadata } from '@temporalio/worker';
import { loadConfig } from '../lib/config';
import { createDb } from '../lib/db';
import { createLogger } from '../lib/logger';
import { createMailer, MAX_SEND_MS } from '../lib/mailer';
import { startOutboxRelay } from '../lib/outbox-relay';
import { codecFromEnvironment } from '../lib/codec';
import { imapSettings } from '../lib/imap';
import { createDocumentStore } from '../lib/storage';
import { connectWorkerConnection } from '../lib/temporal';
import { inspectWorkflowBundle } from './bundle';
import { createPilotWorker } from './worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('worker', config.LOG_LEVEL);
  const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
    TRACE: 'trace',
    DEBUG: 'debug',
    INFO: 'info',
    WARN: 'warn',
    ERROR: 'error',
  };
  const forward = (level: LogLevel) => (message: string, meta?: LogMetadata) => log[levels[level]](meta ?? {}, message);

  // The bundle first: a worker pointed at a missing file stops here, before it connects anywhere.
  const bundle = config.WORKFLOW_BUNDLE_PATH ? inspectWorkflowBundle(config.WORKFLOW_BUNDLE_PATH) : null;
  for (const warning of bundle?.warnings ?? []) log.warn({ bundle: bundle?.path }, `workflow bundle: ${warning}`);

  const metricsAddress = config.WORKER_METRICS_ADDRESS;
  try {
    Runtime.install({
      logger: {
        log: (level, message, meta) => forward(level)(message, meta),
        trace: forward('TRACE'),
        debug: forward('DEBUG'),
        info: forward('INFO'),
        warn: forward('WARN'),
        error: forward('ERROR'),
      },
      telemetryOptions: {
        logging: { filter: { core: 'WARN', other: 'WARN' }, forward: {} },
        // The SDK serves these itself (GET /metrics) from its native runtime: names in the README.
        ...(metricsAddress && { metrics: { prometheus: { bindAddress: metricsAddress } } }),
      },
    });
  } catch (error) {
    if (!metricsAddress) throw error;
    // E.g. "Address already in use": two workers on one host need an address each.
    throw new Error(`WORKER_METRICS_ADDRESS=${metricsAddress}: ${(error as Error).message}`, { cause: error });
  }

  const db = createDb(config.DATABASE_URL, { maxConnections: config.DATABASE_POOL_SIZE });
  const mailer = createMailer({ smtpUrl: config.SMTP_URL, from: config.MAIL_FROM, outboxDir: config.OUTBOX_DIR });
  if (!config.SMTP_URL) log.warn({ outboxDir: config.OUTBOX_DIR }, 'no SMTP_URL: notices are kept as .eml files');
  // Read once at start: a host without user or password stops the worker here, naming what is missing.
  const imap = imapSettings(config);
  const { connection, namespace, close: closeTemporal } = await connectWorkerConnection({ logger: log });
  try {
    const worker = await createPilotWorker({
      connection,
      namespace,
      taskQueue: config.TASK_QUEUE,
      db,
      store: createDocumentStore(config.STORAGE_DIR),
      imap,
      pdfMaxBytes: config.PDF_MAX_BYTES,
      codec: codecFromEnvironment(log),
      workflowBundle: bundle ? { codePath: bundle.path } : undefined,
      shutdownGraceTime: config.WORKER_SHUTDOWN_GRACE,
      maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
      maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentLocalActivityExecutions: config.WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES,
    });
    if (config.OUTBOX_LEASE <= MAX_SEND_MS) {
      log.warn(
        { leaseMs: config.OUTBOX_LEASE, maxSendMs: MAX_SEND_MS },
        'OUTBOX_LEASE is shorter than one SMTP attempt may take: two relays may send one message at once',
      );
    }
    // Mail goes out beside the workflows: the steps queue it, the relay delivers it.
    const relay = startOutboxRelay({
      db,
      mailer,
      log,
      pollMs: config.OUTBOX_POLL_INTERVAL,
      maxBackoffMs: config.OUTBOX_RETRY_MAX,
      leaseMs: config.OUTBOX_LEASE,
    });
    log.info(
      {
        namespace,
        taskQueue: config.TASK_QUEUE,
        // Which bytes run: every worker of a deployment should log the same sha256.
        workflowBundle: bundle
          ? { path: bundle.path, sha256: bundle.sha256, builtAt: bundle.manifest?.builtAt ?? null }
          : 'bundled at start',
        maxCachedWorkflows: worker.options.maxCachedWorkflows,
        heapLimitMb: Math.round(v8.getHeapStatistics().heap_size_limit / 1024 / 1024),
        metrics: metricsAddress ? `http://${metricsAddress}/metrics` : 'off',
        // Where mail is read from, never with whom it logs in.
        intake: imap ? { imap: `${imap.host}:${imap.port}`, secure: imap.secure } : 'off',
      },
      'worker started',
    );
    try {
      await worker.run();
    } finally {
      await relay.stop();
    }
    log.info('worker stopped');
  } finally {
    // The token renewals (OAuth) end with the connection.
    await closeTemporal();
    mailer.close();
    await db.$disconnect();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
