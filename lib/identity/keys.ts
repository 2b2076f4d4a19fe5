import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
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
 * The secret of each named client, made once. A file that lacks one of them is refused rather
 * than rewritten, so a secret an operator already gave the UI server never changes underneath it.
 */
export function ensureClientSecrets(file: string, clientIds: readonly string[]): ClientSecrets {
  const newSecret = () => ({ clientSecret: randomBytes(32).toString('base64url') });
  const stored = readOrCreateSecretFile(
    file,
    ClientsFile,
    () => Object.fromEntries(clientIds.map((id) => [id, newSecret()])),
    'identity provider client secrets',
  );
  if (clientIds.every((id) => stored[id])) return stored;
  throw new Error(
    `identity provider client secrets (${file}) lack ${clientIds.filter((id) => !stored[id]).join(', ')}: remove the file to make them anew`,
  );
}
