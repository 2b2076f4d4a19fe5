/**
 * One sign-on for people: the API takes the identity provider's access tokens (JWT) as it takes
 * the static service tokens — the whole role matrix again with tokens from a real OpenID Connect
 * provider (oidc-provider, signed in through its login page) — and refuses every token that is
 * not the issuer's, for this API, and current.
 */
import { createPrivateKey, randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import type { Role } from '../domain/pilot';
import { loadJose } from '../lib/identity/esm';
import { ensureIdentityFiles } from '../lib/identity/files';
import { startIdentityProvider, type RunningIdentityProvider } from './support/identity';
import { expectRoleMatrix } from './support/role-matrix';
import { ROLE_NAMES } from './support/roles';
import { call, startStack, type Stack } from './support/stack';

const { SignJWT, decodeJwt, decodeProtectedHeader } = loadJose();
let identity: RunningIdentityProvider;
let stack: Stack;
const jwts = {} as Record<Role, string>;

beforeAll(async () => {
  identity = await startIdentityProvider();
  stack = await startStack({
    oidc: {
      OIDC_ISSUER_URL: identity.issuer,
      OIDC_AUDIENCE: identity.audience,
      OIDC_ROLE_CLAIM: identity.roleClaim,
      OIDC_ROLE_MAP: null,
      OIDC_CLOCK_TOLERANCE_SECONDS: 30,
    },
  });
  for (const role of ROLE_NAMES) jwts[role] = await identity.tokenFor(role);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await identity?.stop();
});

/** The stack, with the identity provider's tokens in place of the static ones. */
const signedOn = () => ({ ...stack, tokens: jwts });

test.each(ROLE_NAMES)(
  'role %s signed on at the identity provider: the same matrix as its static token',
  async (role) => {
    await expectRoleMatrix(signedOn(), role);
  },
);

test('a decision records the user from the token', async () => {
  const created = await call<{ id: string }>(
    signedOn(),
    'POST',
    '/calls',
    {
      id: `sso-${randomUUID().slice(0, 8)}`,
      name: '单点登录测试 (sso test)',
      submissionDeadline: new Date(Date.now() + 3_600_000).toISOString(),
      funding: { minFen: 300_000_00, maxFen: 400_000_00 },
      period: { start: '2020-07', end: '2021-07' },
      office: { name: '中国科协改革工作办公室', email: 'office@reform.test' },
      financeEmail: 'finance@reform.test',
    },
    { as: 'staff' },
  );
  expect(created.status).toBe(201);
  const pilot = await call<{ registeredBy: { id: string; role: string } }>(
    signedOn(),
    'POST',
    '/pilots',
    {
      callId: created.body.id,
      pilotUnit: { code: 'hangzhou', name: '杭州市科协' },
      applicantUnit: { name: '浙江省科学技术协会' },
      province: '浙江',
      contacts: [{ name: '王主任', email: 'head@pilot.test' }],
    },
    { as: 'staff' },
  );
  expect(pilot.status).toBe(201);
  expect(pilot.body.registeredBy).toEqual({ id: identity.users.staff.username, role: 'staff' });
});

describe('tokens that are not the issuer’s, for this API, and current are refused with 401', () => {
  /** A token as the issuer would sign it, with claims changed: signed with the issuer's own key. */
  async function reissued(change: (claims: Record<string, unknown>) => void) {
    const original = jwts.auditor;
    const claims = { ...decodeJwt(original) } as Record<string, unknown>;
    change(claims);
    const { kid, alg } = decodeProtectedHeader(original);
    // The issuer's own signing key, from its data directory: only the claims differ.
    const signing = ensureIdentityFiles(identity.dataDir).keys.signing.keys[0]!;
    const key = createPrivateKey({ key: signing as JWK & { kty: string }, format: 'jwk' });
    return new SignJWT(claims).setProtectedHeader({ alg: alg!, kid, typ: 'at+jwt' }).sign(key);
  }
  const asAuditor = (token: string) =>
    call(stack, 'GET', '/calls', undefined, { as: null, headers: { authorization: `Bearer ${token}` } });
  const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  test('the genuine token, and the same claims re-signed with the issuer’s key, are accepted', async () => {
    expect((await asAuditor(jwts.auditor)).status).toBe(200);
    expect((await asAuditor(await reissued(() => undefined))).status).toBe(200);
  });

  test.each([
    ['expired', (c: Record<string, unknown>) => void (c.exp = Math.floor(Date.now() / 1000) - 300)],
    ['from another issuer', (c: Record<string, unknown>) => void (c.iss = 'http://127.0.0.1:1/elsewhere')],
    ['for another audience', (c: Record<string, unknown>) => void (c.aud = 'some-other-api')],
    ['without a role', (c: Record<string, unknown>) => void delete c[identity.roleClaim]],
    ['with a role the product does not have', (c: Record<string, unknown>) => void (c[identity.roleClaim] = ['root'])],
  ])('%s', async (_what, change) => {
    const answer = await asAuditor(await reissued(change));
    expect([answer.status, answer.body.code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  test('unsigned (alg: none), tampered, or signed with a shared secret', async () => {
    const [header, payload, signature] = jwts.auditor.split('.') as [string, string, string];
    const claims = decodeJwt(jwts.auditor);
    const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${payload}.`;
    const promoted = `${header}.${base64url({ ...claims, [identity.roleClaim]: ['admin'] })}.${signature}`;
    const hmac = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('a shared secret anyone could guess'));
    for (const token of [unsigned, promoted, hmac, `${jwts.auditor}x`]) {
      const answer = await asAuditor(token);
      expect([answer.status, answer.body.code]).toEqual([401, 'UNAUTHENTICATED']);
    }
  });
});

test('with the identity provider away, a token that cannot be checked is a 503, static tokens still work', async () => {
  const away = await startStack({
    oidc: {
      OIDC_ISSUER_URL: 'http://127.0.0.1:9/nobody-home',
      OIDC_AUDIENCE: identity.audience,
      OIDC_ROLE_CLAIM: identity.roleClaim,
      OIDC_ROLE_MAP: null,
      OIDC_CLOCK_TOLERANCE_SECONDS: 30,
    },
  });
  try {
    const answer = await call(away, 'GET', '/calls', undefined, {
      as: null,
      headers: { authorization: `Bearer ${jwts.auditor}` },
    });
    expect([answer.status, answer.body.code]).toEqual([503, 'IDENTITY_UNAVAILABLE']);
    expect((await call(away, 'GET', '/calls', undefined, { as: 'auditor' })).status).toBe(200);
  } finally {
    await away.stop();
  }
});
