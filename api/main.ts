/** The admin API process. SIGINT/SIGTERM: stop accepting, finish open requests, exit 0. */
import { loadConfig } from '../lib/config';
import { createDb } from '../lib/db';
import { createLogger } from '../lib/logger';
import { connectClient } from '../lib/temporal';
import { imapConfigured } from '../lib/imap';
import { createDocumentStore } from '../lib/storage';
import { codecFromEnvironment } from '../lib/codec';
import { createApp } from './app';
import { loadTokens } from './auth';
import { loadOidcSettings } from './oidc';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('api', config.LOG_LEVEL);
  const db = createDb(config.DATABASE_URL, { maxConnections: config.DATABASE_POOL_SIZE });
  const codec = codecFromEnvironment(log);
  const temporal = await connectClient(codec, { logger: log });
  const { client } = temporal;
  const tokens = loadTokens();
  const oidc = loadOidcSettings();
  if (oidc)
    log.info(
      { issuer: oidc.OIDC_ISSUER_URL, audience: oidc.OIDC_AUDIENCE },
      'accepting access tokens of the identity provider',
    );
  if (tokens.length === 0)
    log.warn('no API tokens configured (API_TOKENS or API_TOKENS_FILE): every protected endpoint answers 401');
  const app = createApp({
    client,
    db,
    taskQueue: config.TASK_QUEUE,
    uiUrl: config.TEMPORAL_UI_URL,
    log,
    tokens,
    oidc,
    store: createDocumentStore(config.STORAGE_DIR),
    pdfMaxBytes: config.PDF_MAX_BYTES,
    codec,
    codecCorsOrigins: config.CODEC_CORS_ORIGINS.split(',').map((o) => o.trim()),
    metricsToken: config.METRICS_TOKEN,
    publicRateLimitPerMinute: config.PUBLIC_RATE_LIMIT_PER_MINUTE,
    intake: imapConfigured(config),
  });
  if (!config.METRICS_TOKEN && !['127.0.0.1', '::1', 'localhost'].includes(config.API_HOST)) {
    log.warn({ host: config.API_HOST }, 'GET /metrics is open to whoever reaches API_HOST: set METRICS_TOKEN');
  }
  // The database client connects and compiles on its first query: done before the API listens,
  // so its first readiness probe is not the one that pays for it. A database that is down is
  // the readiness probe's to report, not a reason not to start.
  await db.$queryRaw`SELECT 1`.catch((error: unknown) =>
    log.warn({ err: error instanceof Error ? error.message : String(error) }, 'database not reachable at start'),
  );
  const server = app.listen(config.API_PORT, config.API_HOST, () => {
    log.info({ url: `http://${config.API_HOST}:${config.API_PORT}` }, 'api listening');
  });

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'api stopping');
      server.close(() => resolve());
      server.closeIdleConnections();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  // The token renewals (OAuth) end with the connection.
  await temporal.close();
  await db.$disconnect();
  log.info('api stopped');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
