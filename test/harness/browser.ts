import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

/** Debian's Chromium, installed by scripts/ensure-test-deps.sh (never a downloaded browser). */
const CHROMIUM = '/usr/bin/chromium';

/**
 * Starts headless Chromium (Playwright gives every launch a fresh temporary profile) without
 * background network chatter, which this machine's closed network would refuse.
 */
export async function launchBrowser(
  extraArgs: readonly string[] = [],
): Promise<{ browser: Browser; close(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...extraArgs,
    ],
  });
  return { browser, close: () => browser.close() };
}

/** Makes Chromium resolve the test stack's `*.test` hosts to loopback (no DNS here). */
export const TEST_HOSTS_ON_LOOPBACK = '--host-resolver-rules=MAP *.test 127.0.0.1';
