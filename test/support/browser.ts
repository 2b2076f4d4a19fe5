import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Debian's Chromium, headless, as the machine allows it: no sandbox as root, and none of the
 * background connections a closed network refuses (many at a time) at every start.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** From any page of the Temporal UI to the identity provider's login form, as a person gets there. */
export async function toSignInPage(page: Page, url: string, issuer: string): Promise<void> {
  await page.goto(url);
  const issuerOrigin = new URL(issuer).origin;
  const sso = page.getByRole('button', { name: /Continue to SSO|Sign in|SSO/i });
  await Promise.race([
    page.waitForURL((u) => u.origin === issuerOrigin, { timeout: 30_000 }),
    sso
      .first()
      .waitFor({ timeout: 30_000 })
      .then(async () => {
        if (new URL(page.url()).origin !== issuerOrigin) await sso.first().click();
        await page.waitForURL((u) => u.origin === issuerOrigin, { timeout: 30_000 });
      }),
  ]);
}

/** The identity provider's form: user name and password, then consent when it asks, back to the UI. */
export async function signInOnPage(
  page: Page,
  user: { username: string; password: string },
  uiUrl: string,
): Promise<void> {
  await page.locator('input[name="login"], input[name="username"]').first().fill(user.username);
  await page.locator('input[name="password"]').first().fill(user.password);
  await page.locator('button[type="submit"], input[type="submit"]').first().click();
  const uiOriginUrl = new URL(uiUrl).origin;
  const deadline = Date.now() + 30_000;
  while (new URL(page.url()).origin !== uiOriginUrl) {
    if (Date.now() > deadline) throw new Error(`sign-in did not return to the UI (at ${page.url()})`);
    // Consent ("Continue"/"Authorize") when the provider asks for it.
    const consent = page.locator('button[type="submit"], input[type="submit"]');
    if (await consent.count())
      await consent
        .first()
        .click()
        .catch(() => undefined);
    await page.waitForTimeout(500);
  }
}
