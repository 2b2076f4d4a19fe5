/**
 * Personal data in workflow histories is encrypted: every payload (inputs, results, queries,
 * memos) passes through AES-256-GCM before it leaves the worker or the API. The key id travels in
 * the payload's metadata, so keys can rotate: new payloads use the current key, old ones decode
 * with the key they name. Search attributes and summaries are not payloads and hold no personal data.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { readSecretJson } from './secrets';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';

const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
/**
 * Payloads above this size are deflated before they are sealed: a pilot's state compresses about
 * fourfold, and every Update's answer carries it into history. Payloads written before
 * compression existed carry no marker and decode as they are.
 */
const COMPRESSION = 'compression';
const DEFLATE_RAW = 'deflate-raw';
const COMPRESS_ABOVE_BYTES = 256;
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array | null | undefined) => (bytes ? new TextDecoder().decode(bytes) : '');

export const CodecKeys = z.object({
  /** The key new payloads are encrypted with. */
  current: z.string().min(1),
  /** key id → base64 of 32 random bytes */
  keys: z.record(
    z.string().min(1),
    z.string().refine((k) => Buffer.from(k, 'base64').length === 32, 'a base64 AES-256 key (32 bytes)'),
  ),
});
export type CodecKeys = z.infer<typeof CodecKeys>;

export class AesGcmCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;

  constructor(private readonly config: CodecKeys) {
    this.keys = new Map(Object.entries(config.keys).map(([id, key]) => [id, Buffer.from(key, 'base64')]));
    if (!this.keys.has(config.current)) throw new Error(`codec key "${config.current}" is not among the keys`);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.keys.get(this.config.current)!;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const encoded = temporal.api.common.v1.Payload.encode(payload).finish();
      const compressed = encoded.length > COMPRESS_ABOVE_BYTES;
      const plain = compressed ? deflateRawSync(encoded) : encoded;
      // The marker is sealed with the data (additional authenticated data): flipping it fails the tag.
      if (compressed) cipher.setAAD(utf8(DEFLATE_RAW));
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      const metadata: Record<string, Uint8Array> = { encoding: utf8(ENCODING), [KEY_ID]: utf8(this.config.current) };
      if (compressed) metadata[COMPRESSION] = utf8(DEFLATE_RAW);
      return { metadata, data: sealed };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (text(payload.metadata?.encoding) !== ENCODING) return payload;
      const keyId = text(payload.metadata?.[KEY_ID]);
      const key = this.keys.get(keyId);
      if (!key) throw new Error(`no codec key "${keyId}" to decode a payload`);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      const compression = text(payload.metadata?.[COMPRESSION]);
      if (compression && compression !== DEFLATE_RAW) throw new Error(`unknown payload compression "${compression}"`);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      if (compression) decipher.setAAD(utf8(DEFLATE_RAW));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(compression ? inflateRawSync(plain) : plain);
    });
  }
}

/** From PAYLOAD_CODEC_KEYS (JSON) or PAYLOAD_CODEC_KEYS_FILE; null when neither is set. */
export function loadCodecKeys(env: NodeJS.ProcessEnv = process.env): CodecKeys | null {
  return readSecretJson(env, 'PAYLOAD_CODEC_KEYS', CodecKeys, 'payload codec keys');
}

export function newCodecKeys(id = `k${Date.now().toString(36)}`): CodecKeys {
  return { current: id, keys: { [id]: randomBytes(32).toString('base64') } };
}

/** The processes' codec: encryption when keys are configured, with a warning when not. */
export function codecFromEnvironment(log: { warn: (message: string) => void }, env: NodeJS.ProcessEnv = process.env) {
  const keys = loadCodecKeys(env);
  if (!keys) {
    log.warn('no PAYLOAD_CODEC_KEYS(_FILE): workflow payloads, including personal data, are stored unencrypted');
    return null;
  }
  return new AesGcmCodec(keys);
}
