import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, type Prisma } from '../generated/prisma/client';

export type Db = PrismaClient;
/** The client or a transaction of it: what a write that may run inside a transaction takes. */
export type DbClient = PrismaClient | Prisma.TransactionClient;

/**
 * A database that is away must fail fast, not hang: activities are retried by Temporal, requests
 * answer 503. Five seconds to connect, well inside the activities' timeouts.
 */
export function createDb(connectionString: string): Db {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString, connectionTimeoutMillis: 5000 }) });
}
