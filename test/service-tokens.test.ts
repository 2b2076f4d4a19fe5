/**
 * Service accounts for the Temporal server: client-credentials tokens from the development
 * identity provider (run as the stack runs it, with an 8-second token lifetime), the permissions
 * they and people's tokens carry, and the token source that keeps a connection's token fresh.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { normalizeTlsConfig } from '@temporalio/common/lib/internal-non-workflow';
import pino from 'pino';
import { oidcVerifier, OidcSettings } from '../api/oidc';
import { loadJose } from '../lib/identity/esm';
import { ensureIdentityFiles, OPERATOR_CLIENT_ID, SERVICE_CLIENT_ID, UI_CLIENT_ID } from '../lib/identity/files';
import { TEMPORAL_PERMISSIONS_CLAIM } from '../lib/identity/temporal-permissions';
import { temporalSettings } from '../lib/temporal';
import {
  loadTemporalOAuthSettings,
  renewalDelayMs,
  requestTemporalToken,
  retryDelayMs,
  startTemporalTokenSource,
  type TemporalTokenSource,
} from '../lib/temporal-token';
import { startIdentityProvider, type RunningIdentityProvider } from './support/identity';

const { createRemoteJWKSet, jwtVerify, decodeJwt } = loadJose();

/** Seconds: long enough for a sign-in, short enough to watch a renewal (at 6.4 s). */
const TTL = 8;
const NAMESPACE = 'pilots-test';

let idp: RunningIdentityProvider;
beforeAll(async () => {
  idp = await startIdentityProvider({ accessTokenTtl: TTL, temporalNamespace: NAMESPACE });
});
afterAll(async () => {
  await idp?.stop();
});

const sources: TemporalTokenSource[] = [];
afterEach(() => {
  for (const source of sources.splice(0)) source.stop();
});

const oauthEnv = (client: { clientId: string; clientSecret: string }, more: NodeJS.ProcessEnv = {}) => ({
  TEMPORAL_OAUTH_TOKEN_URL: idp.tokenUrl,
  TEMPORAL_OAUTH_CLIENT_ID: client.clientId,
  TEMPORAL_OAUTH_CLIENT_SECRET: client.clientSecret,
  ...more,
});
const settingsFor = (client: { clientId: string; clientSecret: string }, more: NodeJS.ProcessEnv = {}) =>
  loadTemporalOAuthSettings(oauthEnv(client, more))!;

async function verified(token: string) {
  const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
  return jwtVerify(token, jwks, { issuer: idp.issuer, audience: idp.audience, algorithms: ['RS256'] });
}

/** A logger writing JSON lines into an array, as pino writes them to stdout. */
function capturedLogger() {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { logger, text: () => lines.join('') };
}

/** Polls until the condition holds; fails with `what` after the timeout. */
async function until(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test.each([
  ['service', SERVICE_CLIENT_ID, `${NAMESPACE}:write`],
  ['operator', OPERATOR_CLIENT_ID, `${NAMESPACE}:admin`],
])(
  'the %s account gets a JWT for the API audience with its Temporal permission and no roles',
  async (_name, clientId, permission) => {
    const client = clientId === SERVICE_CLIENT_ID ? idp.serviceClient : idp.operatorClient;
    // With the resource named and without it (the provider's default): the same audience.
    for (const more of [{}, { TEMPORAL_OAUTH_RESOURCE: 'urn:reform-pilots-api' }]) {
      const token = await requestTemporalToken(settingsFor(client, more));
      expect(token.expiresInSeconds).toBe(TTL);
      const { payload, protectedHeader } = await verified(token.accessToken);
      expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
      expect(payload[TEMPORAL_PERMISSIONS_CLAIM]).toEqual([permission]);
      expect(payload.sub).toBe(clientId);
      expect(payload.client_id).toBe(clientId);
      expect(payload.aud).toBe(idp.audience);
      expect(payload.exp! - payload.iat!).toBe(TTL);
      // Not a person: no role for the admin API, no name.
      expect(payload).not.toHaveProperty(idp.roleClaim);
      expect(payload).not.toHaveProperty('preferred_username');
    }
  },
);

test("a person's access token carries read permissions for the configured namespace and the cluster", async () => {
  const { payload } = await verified(await idp.tokenFor('auditor'));
  expect(payload[TEMPORAL_PERMISSIONS_CLAIM]).toEqual(['temporal-system:read', `${NAMESPACE}:read`]);
  expect(payload[idp.roleClaim]).toEqual(['auditor']);
});

test('the admin API refuses a service token as a person (no role), and takes a person’s', async () => {
  const verify = oidcVerifier(OidcSettings.parse({ OIDC_ISSUER_URL: idp.issuer, OIDC_AUDIENCE: idp.audience }));
  const { accessToken } = await requestTemporalToken(settingsFor(idp.serviceClient));
  expect(await verify(accessToken)).toBeNull();
  expect(await verify(await idp.tokenFor('finance'))).toEqual({ id: idp.users.finance.username, role: 'finance' });
});

test('a wrong secret, another account’s secret or the Web UI client get no token; no secret in the message', async () => {
  const wrong = `${idp.serviceClient.clientSecret}x`;
  const attempt = requestTemporalToken(settingsFor({ clientId: SERVICE_CLIENT_ID, clientSecret: wrong }));
  await expect(attempt).rejects.toThrow(/answered 401 invalid_client/);
  const message = await attempt.catch((error: Error) => error.message);
  expect(message).not.toContain(wrong);
  await expect(
    requestTemporalToken(settingsFor({ clientId: SERVICE_CLIENT_ID, clientSecret: idp.operatorClient.clientSecret })),
  ).rejects.toThrow(/401 invalid_client/);
  // The Web UI server signs people in; it may not take tokens of its own.
  await expect(requestTemporalToken(settingsFor(idp.uiClient))).rejects.toThrow(
    /400 invalid_request \(requested grant type is not allowed for this client\)/,
  );
  // At start, the same refusal is the process's startup error, naming the account.
  await expect(
    startTemporalTokenSource(settingsFor({ clientId: SERVICE_CLIENT_ID, clientSecret: wrong }), {
      logger: capturedLogger().logger,
    }),
  ).rejects.toThrow(/no Temporal token for reform-pilots-service: .*401 invalid_client/);
});

test('settings: none set changes nothing; incomplete or unsafe ones and two kinds of credentials are refused; TEMPORAL_TLS=false keeps TLS off', () => {
  const base = { TEMPORAL_ADDRESS: '127.0.0.1:7233', TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' };
  expect(loadTemporalOAuthSettings({})).toBeNull();
  expect(loadTemporalOAuthSettings({ TEMPORAL_OAUTH_CLIENT_ID: '' })).toBeNull();
  expect(temporalSettings(base)).toMatchObject({ oauth: null, connectionOptions: { tls: undefined } });

  expect(() => loadTemporalOAuthSettings({ TEMPORAL_OAUTH_CLIENT_ID: 'a' })).toThrow(
    /TEMPORAL_OAUTH_TOKEN_URL.*one of TEMPORAL_OAUTH_CLIENT_SECRET and TEMPORAL_OAUTH_CLIENT_SECRET_FILE/,
  );
  const secret = 'a-secret-that-must-not-show';
  const refusal = (() => {
    try {
      loadTemporalOAuthSettings({
        TEMPORAL_OAUTH_TOKEN_URL: 'http://idp.example/token',
        TEMPORAL_OAUTH_CLIENT_ID: 'a',
        TEMPORAL_OAUTH_CLIENT_SECRET: secret,
        TEMPORAL_OAUTH_CLIENT_SECRET_FILE: '/run/secrets/a',
      });
    } catch (error) {
      return (error as Error).message;
    }
    return 'accepted';
  })();
  // The secret would cross the network in the clear; and one secret, not two.
  expect(refusal).toMatch(/TEMPORAL_OAUTH_TOKEN_URL: https, or http to this machine only/);
  expect(refusal).toMatch(/one of TEMPORAL_OAUTH_CLIENT_SECRET and TEMPORAL_OAUTH_CLIENT_SECRET_FILE/);
  expect(refusal).not.toContain(secret);
  expect(
    loadTemporalOAuthSettings({
      TEMPORAL_OAUTH_TOKEN_URL: 'https://idp.example/oauth/token',
      TEMPORAL_OAUTH_CLIENT_ID: 'a',
      TEMPORAL_OAUTH_CLIENT_SECRET_FILE: '/run/secrets/a',
      TEMPORAL_OAUTH_SCOPE: 'temporal',
    }),
  ).toMatchObject({
    tokenUrl: 'https://idp.example/oauth/token',
    clientSecretFile: '/run/secrets/a',
    scope: 'temporal',
  });

  const oauth = oauthEnv(idp.serviceClient);
  expect(() => temporalSettings({ ...base, ...oauth, TEMPORAL_API_KEY: 'static' })).toThrow(/set twice/);
  expect(() => temporalSettings({ ...base, ...oauth, TEMPORAL_GRPC_META_AUTHORIZATION: 'Bearer x' })).toThrow(
    /set twice/,
  );

  // The token is given to the SDK as an API key: with `tls` unset it turns TLS on (production);
  // TEMPORAL_TLS=false is kept, so a plaintext cluster on this machine is reached in plaintext.
  const tlsOn = temporalSettings({ ...base, ...oauth });
  expect(tlsOn.oauth).toMatchObject({ clientId: SERVICE_CLIENT_ID, tokenUrl: idp.tokenUrl });
  expect(normalizeTlsConfig(tlsOn.connectionOptions.tls, 'a-token')).toEqual({});
  const plaintext = temporalSettings({ ...base, ...oauth, TEMPORAL_TLS: 'false' });
  expect(plaintext.connectionOptions.tls).toBe(false);
  expect(normalizeTlsConfig(plaintext.connectionOptions.tls, 'a-token')).toBeUndefined();
  // …and only there: a token in plaintext to another machine is refused at start.
  expect(() =>
    temporalSettings({ ...base, ...oauth, TEMPORAL_TLS: 'false', TEMPORAL_ADDRESS: 'temporal.example:7233' }),
  ).toThrow(/plaintext/);
  expect(() =>
    temporalSettings({ ...base, TEMPORAL_API_KEY: 'static', TEMPORAL_TLS: 'false', TEMPORAL_ADDRESS: '10.0.0.5:7233' }),
  ).toThrow(/plaintext/);
});

test('renewal is timed at 80% of the lifetime (at least 1 s), before even a short-lived token expires, never beyond a timer’s reach; retries back off from 1 s to 30 s', () => {
  expect(renewalDelayMs(3600)).toBe(2_880_000);
  expect(renewalDelayMs(TTL)).toBe(6_400);
  expect(renewalDelayMs(3)).toBe(2_400);
  expect(renewalDelayMs(1)).toBe(1_000);
  // A year-long token: renewed after the longest wait setTimeout keeps, not at once.
  expect(renewalDelayMs(365 * 24 * 3600)).toBe(2 ** 31 - 1);
  expect([1, 2, 3, 4, 5, 6, 7, 20].map(retryDelayMs)).toEqual([
    1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
  ]);
});

test('the token source hands the connection a new token before the first expires, and stops cleanly', async () => {
  const { logger, text } = capturedLogger();
  const askedAt = Date.now();
  const source = await startTemporalTokenSource(settingsFor(idp.serviceClient), { logger });
  sources.push(source);
  const startedAt = Date.now();
  const first = source.current();
  expect(source.nextRenewalAt()).toBeGreaterThanOrEqual(askedAt + renewalDelayMs(TTL));
  expect(source.nextRenewalAt()).toBeLessThanOrEqual(startedAt + renewalDelayMs(TTL));

  const handed: { token: string; at: number }[] = [];
  source.attach({ setApiKey: (token) => void handed.push({ token, at: Date.now() }) });
  await until('the held token handed over on attach', () => handed.length === 1, 1_000);
  expect(handed[0]!.token).toBe(first);

  await until('a second token', () => handed.some((h) => h.token !== first), (TTL + 2) * 1000);
  const second = handed.find((h) => h.token !== first)!;
  // Not before 80% of the lifetime, and before the first token's lifetime ran out.
  expect(second.at).toBeGreaterThanOrEqual(startedAt + renewalDelayMs(TTL) - 20);
  expect(second.at).toBeLessThan(askedAt + TTL * 1000);
  expect(decodeJwt(second.token).jti).not.toBe(decodeJwt(first).jti);
  expect((await verified(second.token)).payload[TEMPORAL_PERMISSIONS_CLAIM]).toEqual([`${NAMESPACE}:write`]);
  expect(source.current()).toBe(second.token);
  // The next renewal is scheduled from the second token.
  expect(source.nextRenewalAt()).toBeGreaterThan(second.at + renewalDelayMs(TTL) - 1_000);

  source.stop();
  source.stop();
  expect(source.nextRenewalAt()).toBeNull();
  source.attach({ setApiKey: (token) => void handed.push({ token, at: Date.now() }) });
  const count = handed.length;
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(handed).toHaveLength(count);

  expect(text()).toContain('Temporal token renewed');
  for (const token of [first, second.token]) expect(text()).not.toContain(token);
});

test('a failed renewal is logged and retried after 1 s; the next success reaches the connection', async () => {
  // The secret from a file, read at every request: made wrong after the first token, then right again.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-oauth-'));
  const secretFile = path.join(dir, 'secret');
  try {
    fs.writeFileSync(secretFile, `${idp.serviceClient.clientSecret}\n`, { mode: 0o600 });
    const { logger, text } = capturedLogger();
    const source = await startTemporalTokenSource(
      loadTemporalOAuthSettings({
        TEMPORAL_OAUTH_TOKEN_URL: idp.tokenUrl,
        TEMPORAL_OAUTH_CLIENT_ID: SERVICE_CLIENT_ID,
        TEMPORAL_OAUTH_CLIENT_SECRET_FILE: secretFile,
      })!,
      { logger },
    );
    sources.push(source);
    const first = source.current();
    const handed: string[] = [];
    source.attach({ setApiKey: (token) => void handed.push(token) });
    fs.writeFileSync(secretFile, 'not-the-secret\n');

    await until('a failed renewal logged', () => text().includes('renewal failed'), (TTL + 2) * 1000);
    const failure = JSON.parse(
      text()
        .split('\n')
        .find((line) => line.includes('renewal failed'))!,
    ) as Record<string, unknown>;
    expect(failure).toMatchObject({ level: 40, clientId: SERVICE_CLIENT_ID, attempt: 1, retryInMs: 1_000 });
    expect(failure.error).toMatch(/401 invalid_client/);
    const failedAt = Date.now();
    // Meanwhile the connection keeps the token it has.
    expect(source.current()).toBe(first);
    expect(source.nextRenewalAt()).toBeGreaterThan(failedAt);
    expect(source.nextRenewalAt()).toBeLessThanOrEqual(failedAt + 1_000);

    fs.writeFileSync(secretFile, `${idp.serviceClient.clientSecret}\n`);
    await until('a renewed token', () => handed.some((token) => token !== first), 5_000);
    expect(text()).toContain('Temporal token renewed');
    for (const secret of [idp.serviceClient.clientSecret, 'not-the-secret', first, ...handed]) {
      expect(text()).not.toContain(secret);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an existing clients file gets the service accounts added, keeps its secret, stays owner-only', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-clients-'));
  try {
    const file = path.join(dir, 'idp-clients.json');
    const uiSecret = 'an-older-secret-the-ui-server-already-has-0123456789';
    fs.writeFileSync(file, JSON.stringify({ [UI_CLIENT_ID]: { clientSecret: uiSecret } }), { mode: 0o644 });
    const files = ensureIdentityFiles(dir);
    expect(files.uiClientSecret).toBe(uiSecret);
    expect(files.serviceClientSecret).toHaveLength(43);
    expect(files.operatorClientSecret).toHaveLength(43);
    expect(files.serviceClientSecret).not.toBe(files.operatorClientSecret);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')) as object).sort()).toEqual(
      [OPERATOR_CLIENT_ID, SERVICE_CLIENT_ID, UI_CLIENT_ID].sort(),
    );
    // Made once: the next start reads the same secrets; nothing left beside the file.
    const again = ensureIdentityFiles(dir);
    expect([again.serviceClientSecret, again.operatorClientSecret]).toEqual([
      files.serviceClientSecret,
      files.operatorClientSecret,
    ]);
    expect(fs.readdirSync(dir).filter((name) => name.includes('idp-clients'))).toEqual(['idp-clients.json']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
