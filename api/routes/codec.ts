import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { ApiDeps } from '../deps';
import { Problem } from '../problem';
import type { ApiRoutes } from '../registry';
import { parseBody } from '../validate';

/** Payloads as the Temporal Web UI and CLI send them: proto3 JSON, bytes in base64. */
const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
const JsonPayloads = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), Base64).optional(), data: Base64.optional() })).max(1000),
});
type JsonPayloads = z.infer<typeof JsonPayloads>;

const fromJson = ({ payloads }: JsonPayloads): Payload[] =>
  payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  }));

const toJson = (payloads: Payload[]) => ({
  payloads: payloads.map((p) => ({
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  })),
});

/** Lets the Web UI (another origin) call the codec endpoint from the auditor's browser. */
export function codecCors(origins: readonly string[]): RequestHandler {
  return (req, res, next) => {
    const origin = req.get('origin');
    if (origin && origins.includes(origin)) {
      res.set({
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        // The Web UI sends the ID token beside the access token (Authorization-Extras).
        'Access-Control-Allow-Headers': 'authorization, authorization-extras, content-type, x-namespace',
        Vary: 'Origin',
      });
    }
    if (req.method === 'OPTIONS') {
      res.sendStatus(204);
      return;
    }
    next();
  };
}

/**
 * The codec server (https://docs.temporal.io/production-deployment/data-encryption): auditors see
 * plaintext in the Web UI while Temporal's database holds only ciphertext. Auditor token required.
 */
export function codecRoutes(routes: ApiRoutes, { codec, log }: ApiDeps): void {
  const run =
    (direction: 'encode' | 'decode'): RequestHandler =>
    async (req, res) => {
      const body = parseBody(JsonPayloads, req.body);
      if (!codec) throw new Problem('NOT_FOUND', 'no payload codec is configured');
      // Who read what, when: the user and how many payloads, never the payloads.
      log.info({ user: req.actor.id, role: req.actor.role, payloads: body.payloads.length, direction }, 'codec');
      try {
        res.json(toJson(await (codec as PayloadCodec)[direction](fromJson(body))));
      } catch {
        throw new Problem('VALIDATION_FAILED', `payloads cannot be ${direction}d with the configured keys`);
      }
    };
  for (const direction of ['decode', 'encode'] as const) {
    routes.add(
      {
        method: 'post',
        path: `/codec/${direction}`,
        roles: ['auditor', 'admin'],
        summary:
          direction === 'decode'
            ? '解密工作流载荷（供 Web UI 使用）/ Decode payloads for the Web UI'
            : '加密工作流载荷 / Encode payloads',
        tag: 'codec',
        body: JsonPayloads,
      },
      run(direction),
    );
  }
}
