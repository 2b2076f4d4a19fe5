/**
 * The real servers a test run (or the history recorder) needs: a throw-away PostgreSQL database
 * with the migrations applied, a Temporal dev server on a free port, and the workflow bundle built
 * once. Nothing here is mocked.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { bundleWorkflowCode } from '@temporalio/worker';
import { describeCli, resolveTemporalCli } from '../../scripts/temporal-cli';
import { freePort, startTemporalServer, type RunningTemporal } from '../../scripts/temporal-server';
import { SEARCH_ATTRIBUTES } from '../../domain/search-attributes';

export const ROOT = path.resolve(__dirname, '..', '..');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');

export interface TestEnvironment {
  databaseUrl: string;
  /** A migrated database nobody connects to: each test stack clones it (CREATE DATABASE … TEMPLATE). */
  templateDatabase: string;
  temporalAddress: string;
  workflowBundlePath: string;
  stop(): Promise<void>;
}

function adminUrl(): string {
  return process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
}

async function withAdmin<T>(work: (pg: PgClient) => Promise<T>): Promise<T> {
  const pg = new PgClient({ connectionString: adminUrl(), connectionTimeoutMillis: 5000 });
  try {
    await pg.connect();
  } catch (error) {
    throw new Error(
      `Tests need a real PostgreSQL and none answers at ${adminUrl()} (${(error as Error).message}). ` +
        'Start one (e.g. pg_ctlcluster 15 main start) or point TEST_POSTGRES_URL at one.',
    );
  }
  try {
    return await work(pg);
  } finally {
    await pg.end();
  }
}

export async function createTestDatabase(name: string): Promise<string> {
  await withAdmin((pg) => pg.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const migrate = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'prisma'), ['migrate', 'deploy'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    encoding: 'utf8',
  });
  if (migrate.status !== 0) throw new Error(`prisma migrate deploy failed:\n${migrate.stdout}\n${migrate.stderr}`);
  return databaseUrl;
}

export async function dropTestDatabase(name: string): Promise<void> {
  await withAdmin((pg) => pg.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/** A database of its own for one test stack, cloned from the migrated template in milliseconds. */
export async function cloneTestDatabase(template: string, name: string): Promise<string> {
  await withAdmin((pg) => pg.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

export async function startTestEnvironment(label: string): Promise<TestEnvironment> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const dbName = `pilots_${label}_${Date.now()}_${process.pid}`;

  const cli = resolveTemporalCli((line) => process.stderr.write(`${line}\n`));
  process.stderr.write(`${describeCli(cli)}\n`);

  const templateDatabase = `${dbName}_template`;
  const [databaseUrl, temporal, bundle] = await Promise.all([
    createTestDatabase(templateDatabase).then(() => cloneTestDatabase(templateDatabase, dbName)),
    freePort().then((port) =>
      startTemporalServer(cli, {
        port,
        uiPort: null,
        dbFilename: null,
        logFile: path.join(ARTIFACTS, `temporal-${label}.log`),
        searchAttributes: SEARCH_ATTRIBUTES,
      }),
    ),
    bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietBundlerLogger }),
  ]).catch(async (error: unknown) => {
    await dropTestDatabase(dbName).catch(() => undefined);
    await dropTestDatabase(templateDatabase).catch(() => undefined);
    throw error;
  });

  const workflowBundlePath = path.join(os.tmpdir(), `pilot-workflows-${process.pid}-${Date.now()}.js`);
  fs.writeFileSync(workflowBundlePath, bundle.code);

  return {
    databaseUrl,
    templateDatabase,
    temporalAddress: temporal.address,
    workflowBundlePath,
    stop: async () => {
      await stopQuietly(temporal);
      await dropTestDatabase(dbName);
      await dropTestDatabase(templateDatabase);
      fs.rmSync(workflowBundlePath, { force: true });
    },
  };
}

async function stopQuietly(temporal: RunningTemporal): Promise<void> {
  await temporal.stop().catch((error: unknown) => process.stderr.write(`stopping Temporal: ${String(error)}\n`));
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => process.stderr.write(`bundler: ${message}\n`),
  error: (message: string) => process.stderr.write(`bundler: ${message}\n`),
};
