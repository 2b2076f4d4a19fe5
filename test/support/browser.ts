import { chromium, type Browser } from 'playwright-core';

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
