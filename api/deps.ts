import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import type { DocumentStore } from '../lib/storage';
import type { TokenEntry } from './auth';
import type { OidcSettings } from './oidc';

/** What the API's routes need from the process: connections, stores and settings. */
export interface ApiDeps {
  client: Client;
  db: Db;
  taskQueue: string;
  uiUrl: string;
  log: Logger;
  tokens: TokenEntry[];
  /** Access tokens of the identity provider (OIDC_ISSUER_URL); absent: static tokens only. */
  oidc?: OidcSettings | null;
  store: DocumentStore;
  pdfMaxBytes: number;
  /** Payload encryption shared with the worker; null runs without it. */
  codec: PayloadCodec | null;
  /** Web UI origins allowed to call the codec endpoint. */
  codecCorsOrigins: readonly string[];
  /** How long a staff action waits for its accepted Update's result before 202 (default API_TEMPORAL_TIMING). */
  updateResultMs?: number;
  /** This deployment reads e-mail (IMAP_HOST set): calls with `intake` get an intake workflow. */
  intake?: boolean;
  /** When set, `GET /metrics` needs it as a bearer token (METRICS_TOKEN); unset, it is open. */
  metricsToken?: string;
  /**
   * Requests per minute each client address may make to the public endpoints (the 公示 list and
   * page; PUBLIC_RATE_LIMIT_PER_MINUTE, default 120); 0 turns the limit off.
   */
  publicRateLimitPerMinute: number;
}
