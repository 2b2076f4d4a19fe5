import { Connection } from '@temporalio/client';
import { clusterPorts, CLUSTER_SERVICES, postgresEndpoint, prepareClusterDatabases, resolveTemporalServer, startClusterService, waitForFrontend, writeClusterConfig } from './scripts/temporal-cluster';
import { freePort } from './scripts/temporal-server';
import fs from 'node:fs';
(async () => {
  const t0 = Date.now();
  const b = resolveTemporalServer();
  const pg = postgresEndpoint('postgresql://postgres@127.0.0.1:5432/postgres');
  prepareClusterDatabases(b, pg, { main: 'try_temporal', visibility: 'try_temporal_vis' }, console.log);
  console.log('schemas', Date.now() - t0);
  const dir = '/tmp/try-cluster'; fs.mkdirSync(dir, { recursive: true });
  const ports = await clusterPorts({ standard: false });
  const cfg = writeClusterConfig({ dir, postgres: pg, databases: { main: 'try_temporal', visibility: 'try_temporal_vis' }, ports, jwksUri: null });
  const t1 = Date.now();
  const services = CLUSTER_SERVICES.map((s) => startClusterService(b, cfg, s, { logDir: dir }));
  await waitForFrontend(cfg.frontendAddress, { services });
  console.log('frontend up', Date.now() - t1, cfg.frontendAddress);
  const c = await Connection.connect({ address: cfg.frontendAddress });
  try { await c.workflowService.registerNamespace({ namespace: 'default', workflowExecutionRetentionPeriod: { seconds: 86400 } }); } catch (e) { console.log('register', (e as Error).message); }
  for (;;) { try { await c.workflowService.describeNamespace({ namespace: 'default' }); break; } catch { await new Promise(r => setTimeout(r, 300)); } }
  console.log('namespace', Date.now() - t1);
  fs.writeFileSync(dir + '/address', cfg.frontendAddress);
  fs.writeFileSync(dir + '/pids', services.map(s => `${s.service} ${s.pid}`).join('\n'));
  await new Promise(r => setTimeout(r, 1000000));
})().catch(e => { console.error(e); process.exit(1); });
