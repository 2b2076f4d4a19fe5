/**
 * The fault-injection harness itself, on the real servers: the TCP proxy cuts and restores a real
 * PostgreSQL connection, the worker process survives SIGKILL and restarts, and a Temporal dev
 * server comes back on its address with its data after a graceful stop and after a crash.
 */
import { randomUUID } from 'node:crypto';
import { Client as PgClient } from 'pg';
import { Client, Connection } from '@temporalio/client';
import { proxiedUrl, startTcpProxy, targetOf } from '../support/tcp-proxy';
import { startWorkerProcess } from '../support/worker-process';
import { startRestartableTemporal } from '../support/restartable-temporal';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (its globalSetup starts the servers)`);
  return value;
}

function pgClient(url: string): PgClient {
  const client = new PgClient({ connectionString: url, connectionTimeoutMillis: 5000 });
  // A cut connection is reported as an 'error' event too; unheard, it would crash the test process.
  client.on('error', () => undefined);
  return client;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('the TCP proxy cuts open and new database connections and restores them', async () => {
  const databaseUrl = required('TEST_DATABASE_URL');
  const proxy = await startTcpProxy({ target: targetOf(databaseUrl) });
  const url = proxiedUrl(databaseUrl, proxy.port);
  const open = pgClient(url);
  try {
    await open.connect();
    expect((await open.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    expect(proxy.connections()).toBe(1);

    proxy.cut();
    await expect(open.query('SELECT 1')).rejects.toThrow();
    expect(proxy.connections()).toBe(0);

    // Refused while cut, at once: a fault test must not wait for a connect timeout.
    const refusedAt = Date.now();
    await expect(pgClient(url).connect()).rejects.toThrow();
    expect(Date.now() - refusedAt).toBeLessThan(1000);

    proxy.restore();
    const again = pgClient(url);
    await again.connect();
    expect((await again.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    await again.end();
  } finally {
    await open.end().catch(() => undefined);
    await proxy.close();
  }
  expect(proxy.connections()).toBe(0);
}, 15_000);

test('the worker process starts again after SIGKILL and exits 0 on SIGTERM', async () => {
  const env = { TASK_QUEUE: `harness-${randomUUID()}` };
  const first = await startWorkerProcess(env);
  expect(alive(first.pid)).toBe(true);
  await first.kill9();
  expect(alive(first.pid)).toBe(false);
  expect(first.output()).not.toContain('"msg":"worker stopped"');

  const second = await startWorkerProcess(env);
  try {
    expect(second.pid).not.toBe(first.pid);
    expect(await second.stop()).toBe(0);
    expect(second.output()).toContain('"msg":"worker stopped"');
  } finally {
    await second.kill9();
  }
}, 45_000);

test('a restartable Temporal server comes back on its address with its data, after SIGTERM and SIGKILL', async () => {
  const temporal = await startRestartableTemporal({ label: 'harness' });
  const connection = await Connection.connect({ address: temporal.address });
  try {
    const client = new Client({ connection, namespace: 'default' });
    await connection.workflowService.getSystemInfo({});
    // No worker polls this queue: the workflow stays running, so it must survive in the SQLite file.
    const workflowId = `harness-${randomUUID()}`;
    await client.workflow.start('harnessProbe', { taskQueue: `harness-${randomUUID()}`, workflowId });

    for (const kill of [false, true]) {
      await temporal.down({ kill });
      expect(temporal.isUp()).toBe(false);
      await expect(
        connection.withDeadline(Date.now() + 1000, () => connection.workflowService.getSystemInfo({})),
      ).rejects.toThrow();

      await temporal.up();
      // The connection made before the restart reconnects by itself.
      await connection.workflowService.getSystemInfo({});
      const { status } = await client.workflow.getHandle(workflowId).describe();
      expect(status.name).toBe('RUNNING');
    }
  } finally {
    await connection.close();
    await temporal.stop();
  }
}, 60_000);
