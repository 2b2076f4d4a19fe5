/**
 * The auditor's Web UI as `scripts/up.sh` runs it: the Temporal UI server (not the dev server's
 * embedded UI) in front of a headless dev server, signed in through the identity provider,
 * read-only, decoding payloads through the API's codec endpoint with the signed-in user's token.
 * Headless Chromium is driven like a person: no header is injected anywhere.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import { describeCli, resolveTemporalCli } from '../scripts/temporal-cli';
import { freePort, startTemporalServer, type RunningTemporal } from '../scripts/temporal-server';
import { launchChromium, signInOnPage, toSignInPage } from './support/browser';
import { ARTIFACTS } from './support/environment';
import { startIdentityProvider } from './support/identity';
import { act, openCall, pilotInProgress } from './support/pilots';
import { startStack, type Stack } from './support/stack';
import { startTestUiServer, uiOrigin, type TestUiServer } from './support/ui-server';

type Idp = Awaited<ReturnType<typeof startIdentityProvider>>;

let temporal: RunningTemporal;
let stack: Stack;
let idp: Idp;
let ui: TestUiServer;
let browser: Browser;
let callId: string;
let pilotId: string;
const reason = '中期进度严重滞后，不予拨付尾款';

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(ARTIFACTS, `sso-${name}.png`) }).catch(() => undefined);

beforeAll(async () => {
  const cli = resolveTemporalCli();
  process.stderr.write(`${describeCli(cli)}\n`);
  temporal = await startTemporalServer(cli, {
    port: await freePort(),
    uiPort: null,
    dbFilename: null,
    logFile: path.join(ARTIFACTS, 'temporal-web-ui-sso.log'),
    searchAttributes: SEARCH_ATTRIBUTES,
  });
  const uiUrl = await uiOrigin();
  idp = await startIdentityProvider({ uiRedirectUris: [`${uiUrl}/auth/sso/callback`] });
  // The API accepts the IdP's access tokens (StackOptions.oidc, branch issue-13; spread so that
  // this compiles before that lands, when the API takes static tokens only).
  const oidc = {
    OIDC_ISSUER_URL: idp.issuer,
    OIDC_AUDIENCE: idp.audience,
    OIDC_ROLE_CLAIM: idp.roleClaim,
    OIDC_ROLE_MAP: null,
    OIDC_CLOCK_TOLERANCE_SECONDS: 30,
  };
  stack = await startStack({ temporalAddress: temporal.address, codecCorsOrigins: [uiUrl], ...{ oidc } });
  ui = await startTestUiServer({
    url: uiUrl,
    temporalAddress: temporal.address,
    apiBaseUrl: stack.baseUrl,
    oidc: { issuer: idp.issuer, ...idp.uiClient },
  });
  browser = await launchChromium();

  callId = await openCall(stack);
  ({ pilotId } = await pilotInProgress(stack, callId));
  await act(stack, pilotId, 'tranches/first/confirmation', { reference: 'BANK-SSO' }, { as: 'finance' });
  await act(stack, pilotId, 'midterm-report', { reference: '中期报告.pdf' });
  await act(stack, pilotId, 'midterm-evaluation', { outcome: 'failed', reason }, { as: 'reviewer' });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await ui?.stop();
  await idp?.stop();
  await stack?.stop();
  await temporal?.stop();
});

/**
 * A fresh browser profile; the codec endpoint's certificate is the development one. Failed
 * requests and console errors go to test-artifacts/sso-browser.log.
 */
async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, ignoreHTTPSErrors: true });
  const log = (line: string) => fs.appendFileSync(path.join(ARTIFACTS, 'sso-browser.log'), `${line}\n`);
  context.on('requestfailed', (r) => log(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`));
  context.on('console', (m) => {
    if (m.type() === 'error') log(`console: ${m.text()}`);
  });
  return context;
}

/** From any page of the UI to the identity provider's login form, as a person would get there. */
const toSignIn = (page: Page, url: string) => toSignInPage(page, url, idp.issuer);

/** The identity provider's form: user name and password, then consent when it asks. */
const signIn = (page: Page, role: 'auditor' | 'staff') => signInOnPage(page, idp.users[role], ui.url);

async function signedIn(
  role: 'auditor' | 'staff',
  url: string,
): Promise<{ context: BrowserContext; page: Page; codecStatuses: number[] }> {
  const context = await newContext();
  const page = await context.newPage();
  // Every answer of the codec endpoint from the first page on: the list may already decode.
  const codecStatuses: number[] = [];
  page.on('response', (r) => {
    if (r.url().startsWith(ui.codecEndpoint) && r.request().method() === 'POST') codecStatuses.push(r.status());
  });
  await toSignIn(page, url);
  await signIn(page, role);
  return { context, page, codecStatuses };
}

/** The pilot's history page, with the midterm decision's event opened. */
async function openDecision(page: Page): Promise<void> {
  await page.getByText('evaluateMidterm', { exact: true }).filter({ visible: true }).first().click({ timeout: 30_000 });
}

test('unauthenticated: the UI sends the browser to sign in; the codec endpoint answers 401', async () => {
  const context = await newContext();
  const page = await context.newPage();
  await toSignIn(page, `${ui.url}/namespaces/default/workflows`);
  await shot(page, 'sign-in');
  await expect(page.locator('input[name="password"]').count()).resolves.toBeGreaterThan(0);
  await context.close();

  const codec = await fetch(`${stack.baseUrl}/codec/decode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: ui.url },
    body: JSON.stringify({ payloads: [] }),
  });
  expect(codec.status).toBe(401);
  // The UI server's own API wants a bearer token too.
  const list = await fetch(`${ui.url}/api/v1/namespaces/default/workflows`);
  expect(list.status).toBe(401);
}, 90_000);

test('the auditor signs in, filters by search attribute and reads the decoded midterm decision; nothing can be changed', async () => {
  const query = `PilotCallId = '${callId}' AND PilotTailWithheld = true`;
  const { context, page } = await signedIn(
    'auditor',
    `${ui.url}/namespaces/default/workflows?query=${encodeURIComponent(query)}`,
  );
  // Back in the UI, signed in: the list (with the filter when the UI kept it, else set it again).
  if (!new URL(page.url()).searchParams.get('query')) {
    await page.goto(`${ui.url}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
  }
  const row = page.getByRole('link', { name: pilotId });
  await row.first().waitFor({ timeout: 30_000 });
  await shot(page, 'list');

  // The UI keeps the signed-in user (with the access token it sends as bearer) in localStorage.
  const token = await page.evaluate<string | undefined>(`(() => {
    for (const value of Object.values(localStorage)) {
      try {
        const user = JSON.parse(value);
        if (user && typeof user.accessToken === 'string') return user.accessToken;
      } catch {}
    }
    return undefined;
  })()`);
  expect(token).toBeTruthy();
  // What the UI sends as bearer, to its own API and to the codec endpoint: the IdP's access token,
  // a JWT for the API's audience with the auditor's role.
  const claims = JSON.parse(Buffer.from(token!.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
  expect(claims).toMatchObject({ iss: idp.issuer, aud: idp.audience });
  expect(claims[idp.roleClaim]).toEqual(expect.arrayContaining(['auditor']));

  const decoded = page.waitForResponse((r) => r.url().startsWith(ui.codecEndpoint) && r.request().method() === 'POST');
  await row.first().click();
  await page.waitForURL(/\/workflows\/.+\/history/, { timeout: 30_000 });
  expect((await decoded).status()).toBe(200);

  // An activity's summary (the first tranche's payment instruction) in the history.
  const summary = page
    .getByText(/第一批经费 first tranche 拨款指令/)
    .filter({ visible: true })
    .first();
  await summary.waitFor({ timeout: 30_000 });
  await shot(page, 'history');

  await openDecision(page);
  const decision = page.getByText(reason).filter({ visible: true }).first();
  await decision.waitFor({ timeout: 30_000 }).catch(() => shot(page, 'decision-missing'));
  await decision.scrollIntoViewIfNeeded().catch(() => undefined);
  await shot(page, 'decision');
  await expect(decision.isVisible()).resolves.toBe(true);
  // Who decided (the reviewer), in which role, and when it was requested: decoded, not ciphertext.
  await expect(page.getByText('expert-panel').filter({ visible: true }).count()).resolves.toBeGreaterThan(0);
  await expect(
    page
      .getByText(/requestedAt/)
      .filter({ visible: true })
      .count(),
  ).resolves.toBeGreaterThan(0);

  // Read-only: no control that changes a workflow is usable. ui-server v2.42.1 still draws
  // "Request Cancellation" and the "More Actions" menu (Terminate, Reset, Signal, Update), greyed
  // out and disabled; Start Workflow and batch actions are not drawn at all.
  const controls = page
    .getByRole('button', {
      name: /^\s*(terminate|request cancellation|cancel|send a signal|signal|reset|update|start workflow|more actions)\s*$/i,
    })
    .filter({ visible: true });
  for (const control of await controls.all()) {
    const name = (await control.textContent())?.trim();
    await expect(control.isEnabled().then((enabled) => ({ name, enabled }))).resolves.toEqual({ name, enabled: false });
  }
  await expect(page.getByRole('button', { name: /start workflow/i }).count()).resolves.toBe(0);
  await expect(page.getByRole('menuitem', { name: /terminate|cancel|signal|reset/i }).count()).resolves.toBe(0);

  // A terminate sent straight to the UI server's HTTP API with the session is refused.
  const csrf = (await context.cookies(ui.url)).find((c) => c.name === '_csrf')?.value ?? '';
  const terminateUrl = `${ui.url}/api/v1/namespaces/default/workflows/${encodeURIComponent(pilotId)}/terminate`;
  const withSession = await page.request.post(terminateUrl, {
    headers: { 'x-csrf-token': csrf, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    data: { reason: 'auditor tries' },
  });
  expect(withSession.status()).toBe(405);
  // Without the bearer token (the session's cookies and the CSRF token only) it is refused too.
  const cookiesOnly = await page.request.post(terminateUrl, {
    headers: { 'x-csrf-token': csrf },
    data: { reason: 'auditor tries' },
  });
  expect(cookiesOnly.ok()).toBe(false);
  const description = await stack.client.workflow.getHandle(pilotId).describe();
  expect(description.status.name).toBe('RUNNING');
  await context.close();
}, 150_000);

test('signed in as staff, the codec endpoint answers 403 and the UI shows the codec error', async () => {
  const { context, page, codecStatuses } = await signedIn('staff', `${ui.url}/namespaces/default/workflows`);
  const pilotPage = `${ui.url}/namespaces/default/workflows/${encodeURIComponent(pilotId)}`;
  await page.goto(pilotPage);
  // The UI asks the codec on the list or on the pilot's page (whichever decodes first): refused.
  // Under load a page may be left before its history arrived and the UI asked: each attempt waits
  // for the pilot's page to show, then for the codec's answer, and loads the page again if none came.
  for (let attempt = 0; attempt < 4 && codecStatuses.length === 0; attempt += 1) {
    if (attempt > 0) await page.goto(pilotPage);
    await page
      .getByText(pilotId)
      .filter({ visible: true })
      .first()
      .waitFor({ timeout: 30_000 })
      .catch(() => undefined);
    const until = Date.now() + 15_000;
    while (codecStatuses.length === 0 && Date.now() < until) await page.waitForTimeout(200);
  }
  if (codecStatuses.length === 0) await shot(page, 'staff-no-codec-request');
  expect(codecStatuses.length).toBeGreaterThan(0);
  expect(new Set(codecStatuses)).toEqual(new Set([403]));
  const error = page
    .getByText(/Payloads cannot be decoded|decode failed|codec/i)
    .filter({ visible: true })
    .first();
  await error.waitFor({ timeout: 30_000 }).catch(() => undefined);
  await shot(page, 'staff-codec-error');
  await expect(error.isVisible()).resolves.toBe(true);
  await expect(page.getByText(reason).filter({ visible: true }).count()).resolves.toBe(0);
  await context.close();
}, 120_000);
