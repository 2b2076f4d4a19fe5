/**
 * Who may do what, over real HTTP: every protected endpoint as one role, with whatever kind of
 * token the stack's `tokens` hold (static service tokens, or the identity provider's JWTs).
 */
import type { Role } from '../../domain/pilot';
import { call, type Stack } from './stack';

export const concretePath = (path: string) =>
  path.replace(':pilotId', 'no-call.no-unit').replace(':callId', 'no-call').replace(':tranche', 'first');

/** Allowed endpoints let the role in (then judge the request), the others answer 403. */
export async function expectRoleMatrix(stack: Pick<Stack, 'baseUrl' | 'tokens' | 'endpoints'>, role: Role) {
  const endpoints = stack.endpoints.filter((x) => x.roles !== 'public');
  let cells = 0;
  for (const e of endpoints) {
    const method = e.method.toUpperCase() as 'GET' | 'POST';
    const answer = await call(stack, method, concretePath(e.path), e.write ? {} : undefined, { as: role });
    const allowed = (e.roles as readonly string[]).includes(role);
    cells += 1;
    if (allowed) {
      expect([e.path, answer.status]).not.toEqual([e.path, 401]);
      expect([e.path, answer.status]).not.toEqual([e.path, 403]);
      expect(answer.status).toBeLessThan(500);
    } else {
      expect([e.path, answer.status, answer.body.code]).toEqual([e.path, 403, 'FORBIDDEN']);
    }
  }
  expect(cells).toBe(endpoints.length);
}
