/** The cluster setup command registers the search attributes once, and is safe to run again. */
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import { resolveTemporalCli } from '../scripts/temporal-cli';
import { ensureSearchAttributes } from '../scripts/search-attributes';
import { freePort, startTemporalServer } from '../scripts/temporal-server';
import { ARTIFACTS } from './support/environment';

test('a server without the attributes gets all of them, and a second run adds nothing', async () => {
  const server = await startTemporalServer(resolveTemporalCli(), {
    port: await freePort(),
    uiPort: null,
    dbFilename: null,
    logFile: path.join(ARTIFACTS, 'temporal-search-attributes.log'),
  });
  const connection = await Connection.connect({ address: server.address });
  try {
    expect((await ensureSearchAttributes(connection, 'default')).sort()).toEqual(Object.keys(SEARCH_ATTRIBUTES).sort());
    expect(await ensureSearchAttributes(connection, 'default')).toEqual([]);
    const listed = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(listed.customAttributes ?? {})).toEqual(expect.arrayContaining(Object.keys(SEARCH_ATTRIBUTES)));
  } finally {
    await connection.close();
    await server.stop();
  }
}, 60_000);
