/**
 * A database that is away answers 503 DATABASE_UNAVAILABLE, never 500: Prisma reports it in
 * several shapes depending on where the connection failed (its own error codes, the driver
 * adapter's error kinds, or node-postgres' plain errors passed through), so all are read here.
 */

/** Prisma: can't reach, timed out, server closed the connection, pool timeout, operations timed out. */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
/** The driver adapter's kinds for a connection that could not be made or was lost. */
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/**
 * SQLSTATE classes and codes of a server going away or refusing connections for now:
 * 08 connection exception, 53300 too many connections, 57P01-57P03 shutdown / cannot connect now.
 */
const SQLSTATE = /^(08...|53300|57P0[123])$/;
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
/** node-postgres' own messages for a connection lost or never made (they carry no code). */
const PG_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly/i;

interface ErrorShape {
  code?: unknown;
  kind?: unknown;
  name?: unknown;
  message?: unknown;
  cause?: unknown;
  meta?: { driverAdapterError?: unknown };
}

/** Whether the error, or anything it wraps, says the database could not be reached. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length) {
    const current = queue.shift();
    if (!current || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    const e = current as ErrorShape;
    if (e.name === 'PrismaClientInitializationError') return true;
    if (typeof e.code === 'string' && (PRISMA_CODES.has(e.code) || SOCKET_CODES.has(e.code) || SQLSTATE.test(e.code)))
      return true;
    if (typeof e.kind === 'string' && ADAPTER_KINDS.has(e.kind)) return true;
    if (typeof e.message === 'string' && PG_MESSAGES.test(e.message)) return true;
    queue.push(e.cause, e.meta?.driverAdapterError);
  }
  return false;
}
