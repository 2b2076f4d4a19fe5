/**
 * What every open pilot carries: each workflow evaluates its own copy of every module its bundle
 * imports, so the bundle holds no schema library and no module that builds schemas. The workflow's
 * validators check light shapes (domain/shapes.ts); the API checks full schemas before it sends.
 * Replay does not depend on schemas either: handlers store their input as recorded.
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import { silentLogger } from './support/runtime';

test('the workflow bundle imports no zod and no schema module', async () => {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: silentLogger });
  const modules = [...code.matchAll(/\/\*\*\*\/ "([^"]+)"/g)].map((m) => m[1]!);
  const ours = modules.filter((m) => /^\.\/(domain|workflows)\//.test(m));
  expect(ours).toContain('./workflows/pilot/pilot.ts');
  expect(ours).toContain('./domain/staff-actions.ts');
  expect(modules.filter((m) => m.includes('node_modules/zod'))).toEqual([]);
  // The modules that define zod schemas stay with the API and the activities.
  for (const schemas of ['domain/pilot.ts', 'domain/call.ts', 'domain/application-form.ts', 'staff-action-schemas']) {
    expect(ours.filter((m) => m.includes(schemas))).toEqual([]);
  }
}, 60_000);
