/**
 * A connection that dies in the middle of a transaction (a database restart, a network cut) must
 * not cost the process its connection pool. Prisma 6.19 sends ROLLBACK through the dead
 * connection and then never returns it; `lib/db.ts` destroys it at the first failed statement.
 * Before that fix this test exhausted the pool of 10 at the tenth cut and `$disconnect()` hung.
 */
import { randomUUID } from 'node:crypto';
import { createDb } from '../../lib/db';
import { cloneTestDatabase, dropTestDatabase } from '../support/environment';
import { proxiedUrl, startTcpProxy, targetOf, type TcpProxy } from '../support/tcp-proxy';
import { adminDatabaseUrl, directPg, eventually, sleep } from './support';

const name = `pilots_connections_${randomUUID().slice(0, 8)}`;
let url: string;
let proxy: TcpProxy;

beforeAll(async () => {
  url = await cloneTestDatabase(process.env.TEST_DATABASE_TEMPLATE!, name);
  proxy = await startTcpProxy({ target: targetOf(adminDatabaseUrl()) });
});
afterAll(async () => {
  await proxy?.close();
  await dropTestDatabase(name);
});

test('twelve transactions cut mid-write leave the pool whole: the next ones commit and disconnect is prompt', async () => {
  // A pool of 4, so that a leak would show within the rounds.
  const db = createDb(proxiedUrl(url, proxy.port), { maxConnections: 4 });
  const direct = directPg(url);
  await direct.connect();
  try {
    await db.$executeRaw`SELECT 1`;
    for (let round = 0; round < 12; round += 1) {
      // Hold the table so the transaction's insert is in flight when the connection is cut.
      await direct.query('BEGIN');
      await direct.query('LOCK TABLE unit_integrity_flag IN SHARE MODE');
      const write = db
        .$transaction(async (tx) => {
          // The round in the statement's text, to find this very statement waiting below.
          await tx.$executeRawUnsafe(
            `INSERT INTO unit_integrity_flag (pilot_unit_code, pilot_id, reason, flagged_by, flagged_at)
             VALUES ('u', 'round-${round}', 'r', 'x', now())`,
          );
        })
        .then(
          () => 'committed',
          () => 'failed',
        );
      await eventually(
        async () => {
          // Inside a transaction pg_stat_activity is a snapshot: drop it to see the present.
          await direct.query('SELECT pg_stat_clear_snapshot()');
          return (
            (
              await direct.query(
                "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
                [`%'round-${round}'%`],
              )
            ).rows[0].n === 1
          );
        },
        5000,
        `the insert of round ${round} to wait for the lock`,
        20,
      );
      proxy.cut({ reset: true });
      expect(await write).toBe('failed');
      await direct.query('ROLLBACK');
      proxy.restore();
    }
    // Everything still works, on a pool of 4, after 12 connections died mid-transaction.
    for (let i = 0; i < 6; i += 1) {
      await db.$transaction(async (tx) => {
        await tx.$executeRaw`INSERT INTO unit_integrity_flag (pilot_unit_code, pilot_id, reason, flagged_by, flagged_at)
                              VALUES ('u', ${`after-${i}`}, 'r', 'x', now())`;
      });
    }
    expect((await direct.query('SELECT count(*)::int AS n FROM unit_integrity_flag')).rows[0].n).toBe(6);
  } finally {
    await direct.end();
    const disconnected = await Promise.race([db.$disconnect().then(() => true), sleep(5000).then(() => false)]);
    expect(disconnected).toBe(true);
  }
}, 90_000);
