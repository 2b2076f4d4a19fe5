/**
 * The payload codec: every payload sealed with AES-256-GCM under the current key; large ones
 * deflated first (a pilot's state rides in every Update's answer); payloads sealed before
 * compression existed, or under an older key, still open.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { AesGcmCodec, newCodecKeys } from '../lib/codec';

const keys = newCodecKeys('k1');
const codec = new AesGcmCodec(keys);
const state = {
  phase: 'in_progress',
  expertScores: Array.from({ length: 5 }, (_, i) => ({ expert: { id: `e${i}`, province: '江苏' }, comment: '好' })),
  contact: '13800138000',
};

test('a large payload is deflated, then sealed: smaller, unreadable, and it opens to the same value', async () => {
  const payload = defaultPayloadConverter.toPayload(state);
  const [sealed] = await codec.encode([payload]);
  const meta = (k: string) => Buffer.from(sealed!.metadata![k] ?? []).toString();
  expect([meta('encoding'), meta('encryption-key-id'), meta('compression')]).toEqual([
    'binary/encrypted',
    'k1',
    'deflate-raw',
  ]);
  expect(sealed!.data!.length).toBeLessThan(temporal.api.common.v1.Payload.encode(payload).finish().length);
  expect(Buffer.from(sealed!.data!).toString()).not.toContain('13800138000');
  const [opened] = await codec.decode([sealed!]);
  expect(defaultPayloadConverter.fromPayload(opened!)).toEqual(state);
});

test('a small payload is sealed without compression', async () => {
  const [sealed] = await codec.encode([defaultPayloadConverter.toPayload('记录 record: submitted')]);
  expect(sealed!.metadata!.compression).toBeUndefined();
  const [opened] = await codec.decode([sealed!]);
  expect(defaultPayloadConverter.fromPayload(opened!)).toBe('记录 record: submitted');
});

test('a payload sealed before compression existed (no marker) still opens', async () => {
  const plain = temporal.api.common.v1.Payload.encode(defaultPayloadConverter.toPayload(state)).finish();
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(keys.keys.k1!, 'base64'), iv);
  const old: Payload = {
    metadata: { encoding: Buffer.from('binary/encrypted'), 'encryption-key-id': Buffer.from('k1') },
    data: Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]),
  };
  const [opened] = await codec.decode([old]);
  expect(defaultPayloadConverter.fromPayload(opened!)).toEqual(state);
});

test('the compression marker is sealed with the data: a payload whose marker was removed does not open', async () => {
  const [sealed] = await codec.encode([defaultPayloadConverter.toPayload(state)]);
  const { compression: _marker, ...metadata } = sealed!.metadata!;
  await expect(codec.decode([{ ...sealed!, metadata }])).rejects.toThrow();
});
