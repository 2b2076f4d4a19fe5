/**
 * The office's IMAP mailbox, as the deployment configures it (IMAP_HOST, IMAP_PORT, IMAP_SECURE,
 * IMAP_USER, IMAP_PASSWORD or IMAP_PASSWORD_FILE). Only the worker reads mail; the API only needs
 * to know whether a deployment reads any. The password stays in this object: workflow inputs name
 * the call and its folder only, and nothing here is ever logged.
 */
import fs from 'node:fs';
import { ImapFlow } from 'imapflow';
import type { AppConfig } from './config';

export interface ImapSettings {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  password: string;
}

/** Whether this deployment reads e-mail at all (the API starts intakes only then). */
export function imapConfigured(config: Pick<AppConfig, 'IMAP_HOST'>): boolean {
  return config.IMAP_HOST !== undefined;
}

/** The worker's IMAP settings; null without IMAP_HOST. A host without user or password is an error. */
export function imapSettings(config: AppConfig, env: NodeJS.ProcessEnv = process.env): ImapSettings | null {
  if (!config.IMAP_HOST) return null;
  const file = env.IMAP_PASSWORD_FILE;
  const password = env.IMAP_PASSWORD || (file ? fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '') : '');
  const missing = [!config.IMAP_USER && 'IMAP_USER', !password && 'IMAP_PASSWORD or IMAP_PASSWORD_FILE'].filter(
    Boolean,
  );
  if (missing.length > 0) {
    throw new Error(`configuration error 配置错误: IMAP_HOST is set, so ${missing.join(' and ')} must be too`);
  }
  return {
    host: config.IMAP_HOST,
    port: config.IMAP_PORT,
    secure: config.IMAP_SECURE === 'true',
    user: config.IMAP_USER!,
    password,
  };
}

/**
 * A client for one poll. No library logging (imapflow's would carry addresses and subjects), and
 * bounded waits: a mailbox server that is away fails the attempt, which Temporal retries.
 */
export function imapClient(settings: ImapSettings): ImapFlow {
  return new ImapFlow({
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    auth: { user: settings.user, pass: settings.password },
    logger: false,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 60_000,
    disableAutoIdle: true,
  });
}
