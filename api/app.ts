import path from 'node:path';
import express from 'express';
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../domain/json-limits';
import { API_TEMPORAL_TIMING } from '../lib/temporal';
import { authenticator } from './auth';
import { oidcVerifier } from './oidc';
import type { ApiDeps } from './deps';
import { httpMetrics, metricsEndpoint, timeTemporal } from './metrics';
import { DOCS_PAGE, openApiDocument } from './openapi';
import { Problem, problemHandler, sendProblem } from './problem';
import { ApiRoutes } from './registry';
import { auditRoutes } from './routes/audit';
import { codecCors, codecRoutes } from './routes/codec';
import { callRoutes } from './routes/calls';
import { pilotRoutes } from './routes/pilots';
import { publicNoticeRoutes } from './routes/public-notice';
import { unitRoutes } from './routes/units';
import { rateLimit } from './rate-limit';
import { receivedRoutes } from './routes/received';

/** Rejects once `ms` have passed (the work itself goes on; its result is then ignored). */
function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export function createApp(deps: ApiDeps) {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use(httpMetrics());
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // Method, route and status only: bodies, query strings and tokens may carry personal data.
      deps.log.info(
        {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          actor: req.actor?.id,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      );
    });
    next();
  });
  // Prometheus; open unless METRICS_TOKEN is set (the API binds 127.0.0.1 by default).
  app.get('/metrics', metricsEndpoint(deps.metricsToken));
  app.use('/codec', codecCors(deps.codecCorsOrigins));
  app.use(express.json({ limit: '4mb' }));
  // Before any handler walks the body (zod, the NUL check) or sends it on to Temporal: deeply
  // nested JSON is refused here, iteratively, instead of overflowing a recursive walk later.
  app.use((req, _res, next) => {
    next(
      nestedDeeperThan(req.body, MAX_JSON_DEPTH)
        ? new Problem('JSON_TOO_DEEP', `more than ${MAX_JSON_DEPTH} levels`)
        : undefined,
    );
  });

  const routes = new ApiRoutes(
    express.Router(),
    authenticator(deps.tokens, deps.oidc ? oidcVerifier(deps.oidc) : undefined),
    rateLimit({ perMinute: deps.publicRateLimitPerMinute }),
  );
  routes.add(
    { method: 'get', path: '/health/live', roles: 'public', summary: '存活检查 / Liveness', tag: 'health' },
    (_req, res) => {
      res.json({ status: 'ok' });
    },
  );
  routes.add(
    {
      method: 'get',
      path: '/health/ready',
      roles: 'public',
      summary: '就绪检查（数据库、Temporal）/ Readiness',
      tag: 'health',
    },
    async (_req, res) => {
      // A probe waits about a second: each check gets less than that, and an answer late is "unavailable".
      const ms = API_TEMPORAL_TIMING.readinessMs;
      const checks = await Promise.allSettled([
        withTimeout(deps.db.$queryRaw`SELECT 1`, ms),
        // The deadline ends the call; the timeout also cuts short the SDK's retry pauses, which a deadline does not.
        withTimeout(
          timeTemporal('system_info', () =>
            deps.client.withDeadline(Date.now() + ms, () => deps.client.workflowService.getSystemInfo({})),
          ),
          ms,
        ),
      ]);
      const [database, temporal] = checks.map((c) => (c.status === 'fulfilled' ? 'ok' : 'unavailable'));
      const ready = checks.every((c) => c.status === 'fulfilled');
      res.status(ready ? 200 : 503).json({ status: ready ? 'ok' : 'unavailable', database, temporal });
    },
  );
  callRoutes(routes, deps);
  publicNoticeRoutes(routes, deps);
  receivedRoutes(routes, deps);
  pilotRoutes(routes, deps);
  unitRoutes(routes, deps);
  auditRoutes(routes, deps);
  codecRoutes(routes, deps);

  const openapi = openApiDocument(routes.endpoints);
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.get('/docs', (_req, res) => {
    res.type('html').send(DOCS_PAGE);
  });
  app.use('/docs/assets', express.static(path.dirname(require.resolve('swagger-ui-dist/package.json'))));

  app.use(routes.router);
  app.use((_req, res) => sendProblem(res, new Problem('NOT_FOUND')));
  app.use(problemHandler(deps.log));
  app.locals.endpoints = routes.endpoints;
  return app;
}
