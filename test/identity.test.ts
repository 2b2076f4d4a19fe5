/** The development OpenID Connect provider: discovery, the login page, real tokens per role. */
import fs from 'node:fs';
import { loadJose } from '../lib/identity/esm';
import { TEMPORAL_PERMISSIONS_CLAIM } from '../lib/identity/temporal-permissions';
import { startIdentityProvider, type RunningIdentityProvider } from './support/identity';
import { ROLE_NAMES } from './support/roles';

const { createRemoteJWKSet, jwtVerify, decodeJwt } = loadJose();

let idp: RunningIdentityProvider;
beforeAll(async () => {
  idp = await startIdentityProvider();
});
afterAll(async () => {
  await idp?.stop();
});

test('discovery and JWKS are served', async () => {
  const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<
    string,
    unknown
  >;
  expect(discovery.issuer).toBe(idp.issuer);
  expect(discovery.jwks_uri).toBe(`${idp.issuer}/jwks`);
  expect(discovery.response_types_supported).toEqual(['code']);
  expect(discovery.claims_supported).toEqual(expect.arrayContaining(['preferred_username', idp.roleClaim]));
  const jwks = (await (await fetch(`${idp.issuer}/jwks`)).json()) as { keys: Record<string, unknown>[] };
  expect(jwks.keys).toHaveLength(1);
  expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
  // Public parts only.
  expect(jwks.keys[0]).not.toHaveProperty('d');
});

test('the login page is in Chinese and English', async () => {
  const authorize = new URL('/auth', idp.issuer);
  authorize.search = new URLSearchParams({
    client_id: idp.uiClient.clientId,
    response_type: 'code',
    redirect_uri: idp.uiClient.redirectUri,
    scope: 'openid profile email',
  }).toString();
  const first = await fetch(authorize, { redirect: 'manual' });
  expect(first.status).toBe(303);
  const cookie = first.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const page = await fetch(new URL(first.headers.get('location')!, idp.issuer), { headers: { cookie } });
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/text\/html/);
  const html = await page.text();
  expect(html).toContain('登录');
  expect(html).toContain('Sign in');
  expect(html).toContain('用户名 · Username');
  expect(html).toContain('密码 · Password');
  expect(html).toMatch(/<form method="post" action="\/interaction\/[\w-]+\/login"/);
});

test('an interaction without its cookie is refused with a page in both languages', async () => {
  const response = await fetch(`${idp.issuer}/interaction/not-a-real-uid`);
  expect(response.status).toBe(400);
  const html = await response.text();
  expect(html).toContain('登录已失效');
  expect(html).toContain('can no longer continue');
});

test('a wrong password is refused: the form again, no code, no token', async () => {
  const result = await idp.signIn(idp.users.auditor.username, `${idp.users.auditor.password}x`);
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.status).toBe(401);
  expect(result.body).toContain('用户名或密码不正确');
  expect(result.body).toContain('Wrong username or password');
  // Another user's password does not open this account either.
  expect((await idp.signIn(idp.users.auditor.username, idp.users.admin.password)).ok).toBe(false);
  expect((await idp.signIn('nobody', idp.users.admin.password)).ok).toBe(false);
  // The name typed comes back in the form, escaped.
  const hostile = await idp.signIn('<script>alert(1)</script>"', 'x');
  expect(hostile.ok).toBe(false);
  if (hostile.ok) return;
  expect(hostile.body).toContain('value="&lt;script&gt;alert(1)&lt;/script&gt;&quot;"');
  expect(hostile.body).not.toContain('<script>');
});

test.each(ROLE_NAMES)('tokenFor(%s) is a JWT for the API with the role, verified against the JWKS', async (role) => {
  const token = await idp.tokenFor(role);
  const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: idp.issuer,
    audience: idp.audience,
    algorithms: ['RS256'],
  });
  expect(protectedHeader.typ).toBe('at+jwt');
  expect(payload[idp.roleClaim]).toEqual([role]);
  // For the Temporal server: people read, in the namespace and cluster-wide (the Web UI's first calls).
  expect(payload[TEMPORAL_PERMISSIONS_CLAIM]).toEqual(['temporal-system:read', `${idp.temporalNamespace}:read`]);
  expect(payload.preferred_username).toBe(idp.users[role].username);
  expect(payload.sub).toBe(idp.users[role].username);
  expect(payload.client_id).toBe(idp.uiClient.clientId);
  const now = Math.floor(Date.now() / 1000);
  expect(payload.exp).toBeGreaterThan(now);
  expect(payload.exp).toBeLessThanOrEqual(now + 3600 + 5);
});

test('the ID token names the user and carries the role too', async () => {
  const result = await idp.signIn(idp.users.reviewer.username, idp.users.reviewer.password);
  expect(result.ok).toBe(true);
  if (!result.ok) return;
  const claims = decodeJwt(result.idToken);
  expect(claims.aud).toBe(idp.uiClient.clientId);
  expect(claims.preferred_username).toBe(idp.users.reviewer.username);
  expect(claims[idp.roleClaim]).toEqual(['reviewer']);
});

test('a token signed by the provider does not verify for another audience', async () => {
  const token = await idp.tokenFor('admin');
  const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
  await expect(jwtVerify(token, jwks, { issuer: idp.issuer, audience: 'something-else' })).rejects.toThrow();
});

test('secrets are owner-only files, and no password or token reaches the logs', async () => {
  const token = await idp.tokenFor('finance');
  for (const file of ['idp-users.json', 'idp-keys.json', 'idp-clients.json']) {
    expect(fs.statSync(`${idp.dataDir}/${file}`).mode & 0o777).toBe(0o600);
  }
  await idp.signIn(idp.users.staff.username, 'a-wrong-password-typed-here');
  const logs = idp.logs();
  expect(logs).toContain('signed in');
  expect(logs).toContain('sign-in refused');
  for (const user of Object.values(idp.users)) expect(logs).not.toContain(user.password);
  expect(logs).not.toContain('a-wrong-password-typed-here');
  expect(logs).not.toContain(token);
  for (const client of [idp.uiClient, idp.serviceClient, idp.operatorClient]) {
    expect(logs).not.toContain(client.clientSecret);
  }
});
