/**
 * The auditor's view, for real: a Temporal dev server with its Web UI and the codec endpoint, a
 * pilot run to a chosen phase, and headless Chromium (Debian's package, driven by playwright-core)
 * filtering the workflow list by a search attribute, opening the pilot and finding a decision with
 * its actor and reason, decoded through the codec endpoint. A screenshot is kept in test-artifacts/.
 *
 * `scripts/up.sh` runs the Temporal UI server with sign-in instead (test/web-ui-sso.test.ts); this
 * test keeps the other deployment covered: the Web UI behind a single sign-on proxy that adds the
 * auditor's bearer token to codec requests (the header the test adds), over plain http.
 */
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from './support/browser';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import { describeCli, resolveTemporalCli } from '../scripts/temporal-cli';
import { freePort, startTemporalServer, type RunningTemporal } from '../scripts/temporal-server';
import { ARTIFACTS } from './support/environment';
import { act, openCall, pilotInProgress } from './support/pilots';
import { startStack, type Stack } from './support/stack';

let temporal: RunningTemporal;
let stack: Stack;
let browser: Browser;
let uiUrl: string;

beforeAll(async () => {
  const [port, uiPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const cli = resolveTemporalCli();
  process.stderr.write(`${describeCli(cli)}\n`);
  temporal = await startTemporalServer(cli, {
    port,
    uiPort,
    dbFilename: null,
    logFile: path.join(ARTIFACTS, 'temporal-web-ui.log'),
    searchAttributes: SEARCH_ATTRIBUTES,
    uiCodecEndpoint: `http://127.0.0.1:${apiPort}/codec`,
  });
  uiUrl = temporal.uiUrl!;
  stack = await startStack({ temporalAddress: temporal.address, apiPort, codecCorsOrigins: [uiUrl] });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await temporal?.stop();
});

test('an auditor filters by search attribute, opens the pilot and reads a decision with actor and reason', async () => {
  const callId = await openCall(stack);
  const { pilotId } = await pilotInProgress(stack, callId);
  await act(stack, pilotId, 'tranches/first/confirmation', { reference: 'BANK-UI' }, { as: 'finance' });
  await act(stack, pilotId, 'midterm-report', { reference: '中期报告.pdf' });
  const reason = '中期进度严重滞后，不予拨付尾款';
  await act(stack, pilotId, 'midterm-evaluation', { outcome: 'failed', reason }, { as: 'reviewer' });

  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  // The auditor's browser presents the auditor token to the codec endpoint (in production an SSO
  // proxy in front of the Web UI and the codec endpoint does this).
  await page.route(`${stack.baseUrl}/codec/**`, async (route) => {
    await route.continue({
      headers: { ...route.request().headers(), authorization: `Bearer ${stack.tokens.auditor}` },
    });
  });

  const query = `PilotCallId = '${callId}' AND PilotTailWithheld = true`;
  await page.goto(`${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
  const row = page.getByRole('link', { name: pilotId });
  await row.first().waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(ARTIFACTS, 'web-ui-list.png') });
  expect(await page.getByRole('link', { name: pilotId }).count()).toBeGreaterThan(0);

  await row.first().click();
  await page.waitForURL(/\/workflows\/.+\/history/, { timeout: 30_000 });
  // The midterm evaluation is an update; opening its event shows the decoded decision.
  await page.getByText('evaluateMidterm', { exact: true }).filter({ visible: true }).first().click();
  const decision = page.getByText(reason).filter({ visible: true }).first();
  await decision.waitFor({ timeout: 30_000 }).catch(async () => {
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-ui-history-missing.png'), fullPage: true });
  });
  await decision.scrollIntoViewIfNeeded().catch(() => undefined);
  await page.screenshot({ path: path.join(ARTIFACTS, 'web-ui-decision.png') });
  await expect(decision.isVisible()).resolves.toBe(true);
  await expect(page.getByText('expert-panel').first().isVisible()).resolves.toBe(true);
}, 120_000);
