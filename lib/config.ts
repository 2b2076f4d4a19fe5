import net from 'node:net';
import { z } from 'zod';
import { Duration } from '../domain/call';
import { toMs, type DurationText } from '../domain/duration';

const Millis = (fallback: DurationText) => Duration.default(fallback).transform(toMs);

/** An environment variable set to the empty string counts as unset. */
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);

/** An optional whole number of at least `min`; unset (or empty) leaves the SDK's default. */
const OptionalCount = (min: number) => z.preprocess(unsetIfEmpty, z.coerce.number().int().min(min).optional());

/**
 * A socket address to bind, `<IP>:<port>` (`127.0.0.1:9464`, `[::1]:9464`, `0.0.0.0:9464`): the SDK's
 * exporter takes an address, not a host name. Empty turns the endpoint off.
 */
const BindAddress = z.string().refine((value) => {
  if (value === '') return true;
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  if (!match) return false;
  const [, ipv6, ipv4, port] = match;
  return (ipv6 ? net.isIPv6(ipv6) : net.isIPv4(ipv4 ?? '')) && Number(port) <= 65535;
}, 'an IP address and port such as 127.0.0.1:9464 or [::1]:9464, or empty for none');

/** Process configuration from the environment, validated once at start. */
const Env = z.object({
  DATABASE_URL: z.string().url(),
  /**
   * Database connections this process may hold. Every process sharing a server counts against its
   * max_connections: `scripts/up.sh` sets it for API and worker to fit its embedded server.
   */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
  TASK_QUEUE: z.string().min(1).default('pilots'),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  API_HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
  /** Where staff open a workflow in the Temporal Web UI; used for links in API answers. */
  TEMPORAL_UI_URL: z.string().url().default('http://127.0.0.1:8233'),
  /** SMTP server for notices, e.g. smtp://user:pass@mail.example.org:587; unset keeps them as .eml files. */
  SMTP_URL: z.string().url().optional(),
  MAIL_FROM: z.string().min(3).default('中国科协改革工作办公室 <reform-office@localhost>'),
  OUTBOX_DIR: z.string().default('.data/outbox'),
  /** Where sealed PDFs are stored, by content hash. */
  STORAGE_DIR: z.string().default('.data/documents'),
  PDF_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(20 * 1024 * 1024),
  /** Web UI origins allowed to call the codec endpoint from the browser. */
  CODEC_CORS_ORIGINS: z.string().default('http://127.0.0.1:8233,http://localhost:8233'),
  /** How long a worker lets in-flight activities finish on SIGINT/SIGTERM. */
  WORKER_SHUTDOWN_GRACE: z
    .string()
    .regex(/^\d+(ms|s|m)$/)
    .default('30s') as z.ZodType<`${number}${'ms' | 's' | 'm'}`>,
  /**
   * A prebuilt workflow bundle (the file `bundleWorkflowCode` writes); unset bundles the workflows at
   * start. Tests that restart worker processes set it so each start skips the webpack build.
   */
  WORKFLOW_BUNDLE_PATH: z.preprocess(unsetIfEmpty, z.string().optional()),
  /**
   * Workflows the worker keeps in memory between their tasks (the sticky cache). One evicted to
   * make room replays its history on its next task; 0 turns the cache off. Size the heap for it
   * (README, "Sizing a worker").
   */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce
    .number()
    .int()
    .min(0)
    .default(2000)
    .refine((n) => n !== 1, '0 (no cache) or at least 2'),
  /** Optional limits passed to the SDK as they are; unset keeps its defaults (40, 100, 100). */
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: OptionalCount(1),
  WORKER_MAX_CONCURRENT_ACTIVITIES: OptionalCount(1),
  WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: OptionalCount(1),
  /** Where the worker's SDK runtime serves Prometheus metrics (`/metrics`); empty serves none. */
  WORKER_METRICS_ADDRESS: BindAddress.default('127.0.0.1:9464'),
  /** When set, the API's `GET /metrics` needs `Authorization: Bearer <METRICS_TOKEN>`; unset, it is open. */
  METRICS_TOKEN: z.preprocess(unsetIfEmpty, z.string().min(24, 'at least 24 characters').optional()),
  /**
   * Requests per minute (and burst) each client address may make to the public endpoints (the
   * 公示 list and page); 0 turns the limit off. Behind a reverse proxy every client shares its address.
   */
  PUBLIC_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(120),
  /** The outbox relay (in every worker process): how often it looks for mail to deliver … */
  OUTBOX_POLL_INTERVAL: Millis('1s'),
  /** … the longest wait between two attempts while SMTP is away … */
  OUTBOX_RETRY_MAX: Millis('5m'),
  /** … and how long a claimed message stays with a relay that may have died mid-send. */
  OUTBOX_LEASE: Millis('70s'),
  /**
   * The office's mailbox for e-mailed applications (IMAP). Unset: no call reads e-mail. The
   * password comes from IMAP_PASSWORD or IMAP_PASSWORD_FILE (lib/imap.ts), never from here, so it
   * is in no object a log line might print; and it never enters workflow history.
   */
  IMAP_HOST: z.preprocess(unsetIfEmpty, z.string().min(1).optional()),
  IMAP_PORT: z.coerce.number().int().min(1).max(65535).default(993),
  /** Implicit TLS (port 993). `false` connects in plain text and upgrades with STARTTLS when offered. */
  IMAP_SECURE: z.enum(['true', 'false']).default('true'),
  IMAP_USER: z.preprocess(unsetIfEmpty, z.string().min(1).optional()),
});
export type AppConfig = z.infer<typeof Env>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`configuration error 配置错误: ${problems}`);
  }
  return parsed.data;
}
