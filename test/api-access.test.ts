/**
 * Who may do what: every endpoint × every role, over real HTTP. 401 without a valid token, 403
 * for a role the endpoint does not name; an allowed role gets past the door (its request is then
 * judged on its merits: here an unknown pilot or an empty body, so nothing changes).
 */
import { concretePath, expectRoleMatrix } from './support/role-matrix';
import { ROLE_NAMES } from './support/roles';
import { call, startStack, type Stack } from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

test('the matrix covers every endpoint the API serves', () => {
  const protectedEndpoints = stack.endpoints.filter((e) => e.roles !== 'public');
  expect(protectedEndpoints.length).toBeGreaterThanOrEqual(25);
  // Health for probes; the 公示 for anyone, as the notice says (评审结果将上网公示), limited per client.
  expect(stack.endpoints.filter((e) => e.roles === 'public').map((e) => e.path)).toEqual([
    '/health/live',
    '/health/ready',
    '/calls/:callId/public-notice',
    '/calls/:callId/public-notice.html',
  ]);
  expect(stack.endpoints.filter((e) => e.rateLimited).map((e) => e.path)).toEqual([
    '/calls/:callId/public-notice',
    '/calls/:callId/public-notice.html',
  ]);
});

test('every protected endpoint refuses a missing or unknown token with 401, in Chinese and English', async () => {
  for (const e of stack.endpoints.filter((x) => x.roles !== 'public')) {
    const method = e.method.toUpperCase() as 'GET' | 'POST';
    const none = await call(stack, method, concretePath(e.path), e.write ? {} : undefined, { as: null });
    expect([e.path, none.status, none.body.code]).toEqual([e.path, 401, 'UNAUTHENTICATED']);
    const forged = await call(stack, method, concretePath(e.path), e.write ? {} : undefined, {
      as: null,
      headers: { authorization: `Bearer ${stack.tokens.admin}x` },
    });
    expect([e.path, forged.status]).toEqual([e.path, 401]);
    expect(forged.body.message).toBe('缺少或无效的访问令牌');
  }
});

test.each(ROLE_NAMES)('role %s: allowed endpoints let it in, the others answer 403', async (role) => {
  await expectRoleMatrix(stack, role);
});

test('the roles each endpoint names are the ones a programme office would expect', () => {
  const rolesOf = (method: string, path: string) =>
    stack.endpoints.find((e) => e.method === method && e.path === path)?.roles;
  expect(rolesOf('post', '/pilots/:pilotId/tranches/:tranche/confirmation')).toEqual(['finance', 'admin']);
  expect(rolesOf('post', '/pilots/:pilotId/expert-scores')).toEqual(['reviewer', 'admin']);
  expect(rolesOf('post', '/pilots/:pilotId/acceptance')).toEqual(['reviewer', 'admin']);
  expect(rolesOf('post', '/pilots/:pilotId/review-decision')).toEqual(['staff', 'admin']);
  expect(rolesOf('get', '/pilots/:pilotId/audit')).toEqual(['auditor', 'staff', 'admin']);
  // Auditors only read.
  expect(stack.endpoints.filter((e) => e.write && (e.roles as readonly string[]).includes('auditor'))).toEqual([]);
});

test('writes without an Idempotency-Key are refused with 428 and change nothing', async () => {
  const answer = await call(stack, 'POST', '/calls', {}, { idempotencyKey: null });
  expect(answer.status).toBe(428);
  expect(answer.body).toMatchObject({
    code: 'IDEMPOTENCY_KEY_REQUIRED',
    message: '写操作须提供 Idempotency-Key 请求头',
  });
});
