import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import type { Endpoint } from './registry';

const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  code: z.string(),
  message: z.string(),
  messageEn: z.string(),
  detail: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), code: z.string(), message: z.string() })).optional(),
});

/** OpenAPI 3.1, generated from the same zod schemas and endpoint list the API runs on. */
export function openApiDocument(endpoints: readonly Endpoint[]) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  const problem = { description: 'problem', content: { 'application/problem+json': { schema: Problem } } };

  for (const e of endpoints) {
    const params = [...e.path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
    const body = e.body
      ? { content: { 'application/json': { schema: e.body } } }
      : e.multipart
        ? {
            content: {
              // The JSON part with its whole schema, so the docs show every box and its prompt.
              'multipart/form-data': {
                schema: z.object({
                  [e.multipart.jsonField]: e.multipart.schema.describe(`JSON: ${e.multipart.jsonField}`),
                  [e.multipart.fileField]: z.string().describe('binary'),
                }),
                encoding: { [e.multipart.jsonField]: { contentType: 'application/json' } },
              },
            },
          }
        : undefined;
    registry.registerPath({
      method: e.method,
      path: e.path.replace(/:(\w+)/g, '{$1}'),
      summary: e.summary,
      tags: [e.tag],
      description: `${e.roles === 'public' ? 'No token needed.' : `Roles: ${e.roles.join(', ')}.`}${e.write ? ' Requires an Idempotency-Key header; a repeat returns the first result.' : ''}`,
      security: e.roles === 'public' ? [] : [{ bearer: [] }],
      request: {
        ...(params.length ? { params: z.object(Object.fromEntries(params.map((p) => [p, z.string()]))) } : {}),
        ...(e.query ? { query: e.query as z.ZodObject } : {}),
        ...(e.write ? { headers: z.object({ 'Idempotency-Key': z.string().min(8).max(100) }) } : {}),
        ...(body ? { body } : {}),
      },
      responses: {
        [e.write && e.path.split('/').length <= 2 ? 201 : 200]: {
          description: 'OK',
          content: {
            [e.produces ?? 'application/json']: {
              schema: e.produces === 'text/html' ? z.string() : z.object({}).loose(),
            },
          },
        },
        ...(e.roles === 'public' ? {} : { 401: problem, 403: problem }),
        ...(e.rateLimited ? { 429: problem } : {}),
        404: problem,
        ...(e.write ? { 400: problem, 409: problem, 413: problem, 422: problem, 428: problem } : {}),
        ...(e.staffAction
          ? {
              202: {
                description:
                  'Accepted by the workflow, result not yet known: repeat with the same Idempotency-Key for it',
                content: { 'application/json': { schema: z.object({}).loose() } },
              },
            }
          : {}),
        503: problem,
      },
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: '地方科协深化改革工作试点 管理接口 / Reform pilots admin API',
      version: '1.0.0',
      description:
        'Staff, reviewers, finance and auditors drive and read pilot workflows. Errors are RFC 9457 problem details with a Chinese and an English message.',
    },
  });
}

export const DOCS_PAGE = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>接口文档 / API docs</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });</script></body></html>`;
