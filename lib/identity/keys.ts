import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { z } from 'zod';
import { readOrCreateSecretFile } from './secret-file';

/**
 * The provider's own secrets, made once per data directory and kept across restarts: a token
 * signed yesterday must still verify against today's JWKS, and a browser's session cookie must
 * still be accepted. oidc-provider's built-in keys are development-only and change every start.
 */
const PrivateJwk = z
  .object({
    kty: z.literal('RSA'),
    kid: z.string().min(1),
    alg: z.literal('RS256'),
    use: z.literal('sig'),
    d: z.string(),
  })
  .loose();
const KeysFile = z.object({
  signing: z.object({ keys: z.array(PrivateJwk).min(1) }),
  // keygrip: the first signs cookies, all verify (room to rotate).
  cookies: z.array(z.string().min(32)).min(1),
});
export type ProviderKeys = z.infer<typeof KeysFile>;

function newKeys(): ProviderKeys {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    signing: { keys: [PrivateJwk.parse({ ...jwk, kid: randomUUID(), alg: 'RS256', use: 'sig' })] },
    cookies: [randomBytes(32).toString('base64url')],
  };
}

export function ensureProviderKeys(file: string): ProviderKeys {
  return readOrCreateSecretFile(file, KeysFile, newKeys, 'identity provider keys');
}

/** Client secrets of the first-party confidential clients, by client id. */
const ClientsFile = z.record(z.string(), z.object({ clientSecret: z.string().min(32) }));
export type ClientSecrets = z.infer<typeof ClientsFile>;

/**
 * The secret of each named client, made once. A file that lacks some of them (made before those
 * clients existed) gets them added; the secrets it holds are kept, so a secret an operator already
 * gave the UI server never changes underneath it.
 */
export function ensureClientSecrets(file: string, clientIds: readonly string[]): ClientSecrets {
  const newSecret = () => ({ clientSecret: randomBytes(32).toString('base64url') });
  const stored = readOrCreateSecretFile(
    file,
    ClientsFile,
    () => Object.fromEntries(clientIds.map((id) => [id, newSecret()])),
    'identity provider client secrets',
  );
  const missing = clientIds.filter((id) => !stored[id]);
  if (missing.length === 0) return stored;
  const completed: ClientSecrets = { ...stored, ...Object.fromEntries(missing.map((id) => [id, newSecret()])) };
  // Written aside (owner-only) and renamed over the old file, so a reader sees the old file or the
  // new one, never half of one. No lock: the launcher makes these files before it starts the
  // provider, so two processes do not add secrets to one data directory at once.
  const aside = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(aside, `${JSON.stringify(completed, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    fs.renameSync(aside, file);
  } finally {
    fs.rmSync(aside, { force: true });
  }
  return completed;
}
