import { PrismaPg } from '@prisma/adapter-pg';
import type {
  SqlDriverAdapter,
  SqlMigrationAwareDriverAdapterFactory,
  SqlQuery,
  Transaction,
} from '@prisma/driver-adapter-utils';
import type { PoolClient } from 'pg';
import { PrismaClient, type Prisma } from '../generated/prisma/client';

export type Db = PrismaClient;
/** The client or a transaction of it: what a write that may run inside a transaction takes. */
export type DbClient = PrismaClient | Prisma.TransactionClient;

export interface DbOptions {
  /** Connections this process may hold; together all processes must stay under max_connections. */
  maxConnections?: number;
}

/**
 * A database that is away must fail fast, not hang: activities are retried by Temporal, requests
 * answer 503. Five seconds to connect, well inside the activities' timeouts; TCP keepalive and a
 * 30 s limit per statement, so a connection into a silent network is given up rather than held.
 */
export function createDb(connectionString: string, { maxConnections = 10 }: DbOptions = {}): Db {
  const adapter = new PrismaPg({
    connectionString,
    connectionTimeoutMillis: 5000,
    max: maxConnections,
    keepAlive: true,
    query_timeout: 30_000,
  });
  return new PrismaClient({ adapter: releasingBrokenTransactions(adapter) });
}

/**
 * Prisma 6.19's transaction manager sends ROLLBACK (or COMMIT) through the transaction's
 * connection and only then hands the connection back; when the connection has died mid-transaction
 * (a database restart, a network cut) that statement fails and the connection is never returned.
 * Ten such failures exhaust the pool for good. So: the first failed statement of a transaction
 * destroys its connection at once, and what Prisma does with the transaction afterwards is a no-op
 * (PostgreSQL has aborted it anyway).
 */
function releasingBrokenTransactions(factory: PrismaPg): SqlMigrationAwareDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => guarded(await factory.connect()),
    connectToShadowDb: async () => guarded(await factory.connectToShadowDb()),
  };
}

function guarded(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const startTransaction = adapter.startTransaction.bind(adapter);
  adapter.startTransaction = async (isolationLevel) => guardedTransaction(await startTransaction(isolationLevel));
  return adapter;
}

type PgTransaction = Transaction & { client: PoolClient; cleanup?: () => void };

function guardedTransaction(tx: Transaction): Transaction {
  const pg = tx as PgTransaction;
  let released = false;
  const release = (error?: Error) => {
    if (released) return;
    released = true;
    pg.cleanup?.();
    pg.client.release(error ?? true);
  };
  const run =
    <T>(statement: (query: SqlQuery) => Promise<T>, afterRelease: T) =>
    async (query: SqlQuery): Promise<T> => {
      if (released) {
        if (/^\s*ROLLBACK\b/i.test(query.sql)) return afterRelease;
        throw new Error('the transaction was aborted: its connection failed');
      }
      try {
        return await statement(query);
      } catch (error) {
        release(error as Error);
        throw error;
      }
    };
  const queryRaw = tx.queryRaw.bind(tx);
  const executeRaw = tx.executeRaw.bind(tx);
  const commit = tx.commit.bind(tx);
  const rollback = tx.rollback.bind(tx);
  return Object.assign(tx, {
    queryRaw: run(queryRaw, { columnNames: [], columnTypes: [], rows: [] }),
    executeRaw: run(executeRaw, 0),
    commit: async () => (released ? undefined : commit().finally(() => (released = true))),
    rollback: async () => (released ? undefined : rollback().finally(() => (released = true))),
  });
}
