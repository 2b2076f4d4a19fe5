/** Says clearly whether the PostgreSQL the tests need answers, instead of a driver stack trace. */
import { Client } from 'pg';

async function main(url: string): Promise<void> {
  const pg = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await pg.connect();
    const { rows } = await pg.query<{ server_version: string }>('SHOW server_version');
    console.log(`PostgreSQL ${rows[0]?.server_version ?? '?'} answers at ${new URL(url).host}`);
  } catch (error) {
    console.error(
      `No PostgreSQL answers at ${url} (${(error as Error).message}).\n` +
        'The tests need one: start it (pg_ctlcluster 15 main start) or set TEST_POSTGRES_URL.',
    );
    process.exitCode = 1;
  } finally {
    await pg.end().catch(() => undefined);
  }
}

void main(process.argv[2] ?? 'postgresql://postgres@127.0.0.1:5432/postgres');
