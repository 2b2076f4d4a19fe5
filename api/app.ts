import express from 'express';
import type { Client } from '@temporalio/client';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import { actorFromHeaders } from './actor';
import { Problem, problemHandler, sendProblem } from './problem';
import { callRoutes } from './routes/calls';
import { pilotRoutes } from './routes/pilots';

export interface ApiDeps {
  client: Client;
  db: Db;
  taskQueue: string;
  uiUrl: string;
  log: Logger;
}

export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // Method, route and status only: bodies and query strings may carry personal data.
      deps.log.info(
        {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      );
    });
    next();
  });
  app.use(express.json({ limit: '256kb' }));

  app.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/health/ready', async (_req, res) => {
    const checks = await Promise.allSettled([
      deps.db.$queryRaw`SELECT 1`,
      deps.client.workflowService.getSystemInfo({}),
    ]);
    const [database, temporal] = checks.map((c) => (c.status === 'fulfilled' ? 'ok' : 'unavailable'));
    const ready = checks.every((c) => c.status === 'fulfilled');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ok' : 'unavailable', database, temporal });
  });

  app.use(actorFromHeaders);
  app.use(callRoutes(deps));
  app.use(pilotRoutes(deps));
  app.use((_req, res) => sendProblem(res, new Problem('NOT_FOUND')));
  app.use(problemHandler(deps.log));
  return app;
}
