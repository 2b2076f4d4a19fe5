/**
 * Each staff action is declared once (`domain/staff-actions.ts`): walking the table finds, for
 * every entry, the API route that carries it with its roles, its OpenAPI operation, and the
 * workflow's Update handler under the same wire name (read from a running pilot's own metadata).
 */
import { STAFF_ACTION_NAMES, STAFF_ACTIONS } from '../domain/staff-actions';
import { staffUpdates } from '../workflows/pilot/messages';
import { openCall, registerPilot } from './support/pilots';
import { call, startStack, type Stack } from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

interface WorkflowMetadata {
  definition?: { type?: string; updateDefinitions?: { name?: string }[]; queryDefinitions?: { name?: string }[] };
}

test('every staff action has a route with its roles, an OpenAPI operation and a workflow handler', async () => {
  const pilotId = await registerPilot(stack, await openCall(stack));
  const metadata = await stack.client.workflow
    .getHandle(pilotId)
    .query<WorkflowMetadata>('__temporal_workflow_metadata');
  const handlers = (metadata.definition?.updateDefinitions ?? []).map((u) => u.name);
  const openapi = await call<{ paths: Record<string, Record<string, { summary?: string }>> }>(
    stack,
    'GET',
    '/openapi.json',
  );

  expect(STAFF_ACTION_NAMES.length).toBeGreaterThan(0);
  for (const name of STAFF_ACTION_NAMES) {
    const { route } = STAFF_ACTIONS[name];
    const routes = stack.endpoints.filter((e) => e.staffAction === name);
    expect({ name, routes: routes.length }).toEqual({ name, routes: 1 });
    const [endpoint] = routes;
    expect(endpoint).toMatchObject({
      method: 'post',
      path: `/pilots/:pilotId/${route.path}`,
      roles: route.roles,
      summary: route.summary,
      write: true,
    });
    expect(route.roles.length).toBeGreaterThan(0);
    const openapiPath = endpoint!.path.replace(/:(\w+)/g, '{$1}');
    expect({ name, summary: openapi.body.paths[openapiPath]?.post?.summary }).toEqual({ name, summary: route.summary });
    expect({ name, handler: handlers.includes(name) }).toEqual({ name, handler: true });
    expect(staffUpdates[name].name).toBe(name);
  }
  // And nothing the workflow answers is missing from the table.
  expect([...handlers].sort()).toEqual([...STAFF_ACTION_NAMES].sort());
});
