import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { BrowserContext, Page } from 'playwright-core';
import { launchBrowser, TEST_HOSTS_ON_LOOPBACK } from '../harness/browser.js';
import { startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

/**
 * Every gateway page meets the bar of an accessible form (issue 14): axe-core, run inside
 * Chromium on the page as the gateway served it, reports no serious or critical violation.
 * The check needs its script in the page, which the pages' strict CSP forbids: the context
 * bypasses CSP for the injection only (the CSP itself is tested elsewhere).
 */
const axeSource = (createRequire(import.meta.url)('axe-core') as { source: string }).source;

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

let stack: Stack;
let storeDown: Stack;
let browser: Awaited<ReturnType<typeof launchBrowser>>;

const routes = (upstream: string) => `version: 1
posture_profiles:
  managed:
    managed: true
    disk_encrypted: true
routes:
  - name: app
    host: app.test
    upstream: ${upstream}
    policy:
      allow:
        - groups: [engineering]
  - name: admin
    host: admin.test
    upstream: ${upstream}
    jit: { grant: admin, max_duration: 4h, approvers: { groups: [engineering] }, require_reason: true }
    policy:
      allow:
        - groups: [engineering]
        - grant: admin
  - name: devices
    host: devices.test
    upstream: ${upstream}
    policy:
      allow:
        - groups: [sales]
          posture: managed
  - name: dead
    host: dead.test
    upstream: http://127.0.0.1:9
    policy:
      allow:
        - authenticated: true
  - name: slow
    host: slow.test
    upstream: ${upstream}
    timeout: 1s
    policy:
      allow:
        - authenticated: true
`;

beforeAll(async () => {
  stack = await startStack({ routes });
  // The same gateway with its session store out of reach: every session route answers 503.
  storeDown = await startStack({
    routes,
    sharing: stack,
    sessionExtra: '  store: redis\n  redis_url_env: TEST_REDIS_URL',
    env: { TEST_REDIS_URL: 'redis://127.0.0.1:9' },
  });
  // The access forms need the Fetch Metadata a browser sends only to secure origins: this
  // plain-HTTP host stands in for the HTTPS a deployment has.
  browser = await launchBrowser([
    TEST_HOSTS_ON_LOOPBACK,
    `--unsafely-treat-insecure-origin-as-secure=${new URL(stack.url('admin.test', '/')).origin}`,
  ]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await storeDown?.close();
  await stack?.close();
});

/** A browser context signed in; with `otp`, the recent MFA sign-in approvers decide with. */
async function signedIn(
  user: string,
  password: string,
  otp?: string,
  host = 'app.test',
): Promise<BrowserContext> {
  const context = await browser.browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  const stepUp = otp === undefined ? '' : 'step_up=1&mfa=1&max_age=600&';
  await page.goto(stack.url(host, `/.ztna/login?${stepUp}rd=%2F`));
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  if (otp !== undefined) await page.fill('input[name=otp]', otp);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await page.close();
  return context;
}

/** The serious and critical axe violations of the page at `url`, and its status. */
async function audit(
  context: BrowserContext,
  url: string,
): Promise<{ status: number; page: Page; violations: string[] }> {
  const page = await context.newPage();
  const response = await page.goto(url);
  await page.evaluate(axeSource);
  const violations = (await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } })
      .axe;
    return (await axe.run()).violations;
  })) as Violation[];
  return {
    status: response?.status() ?? 0,
    page,
    violations: violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map(
        (v) =>
          `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
      ),
  };
}

describe('gateway pages pass axe-core with no serious violation', () => {
  let bob: BrowserContext;
  let anonymous: BrowserContext;

  beforeAll(async () => {
    bob = await signedIn('bob', 'pw-bob');
    anonymous = await browser.browser.newContext({ bypassCSP: true });
  }, 60_000);

  const pages: Array<[string, () => [BrowserContext, string], number, RegExp]> = [
    ['deny', () => [bob, stack.url('app.test', '/')], 403, /Access denied/],
    ['deny with posture hints', () => [bob, stack.url('devices.test', '/')], 403, /device/i],
    ['/.ztna/me', () => [bob, stack.url('app.test', '/.ztna/me')], 200, /Your session/],
    ['logout confirm', () => [bob, stack.url('app.test', '/.ztna/logout')], 200, /Sign out/],
    [
      'signed out',
      () => [anonymous, stack.url('app.test', '/.ztna/signed-out')],
      200,
      /signed out/,
    ],
    ['400', () => [bob, stack.url('app.test', '/a/%252e%252e/b')], 400, /.+/],
    ['404', () => [anonymous, stack.url('app.test', '/.ztna/nothing-here')], 404, /.+/],
    ['502', () => [bob, stack.url('dead.test', '/')], 502, /.+/],
    ['504', () => [bob, stack.url('slow.test', '/slow?ms=3000')], 504, /.+/],
    // Cookies are per host, not per port: bob's session cookie reaches the instance whose
    // store is out of reach, which must read it.
    ['503', () => [bob, storeDown.url('app.test', '/')], 503, /.+/],
  ];

  test.each(pages)('%s', async (_name, target, status, text) => {
    const [context, url] = target();
    const result = await audit(context, url);
    expect(result.status).toBe(status);
    await expect(result.page.textContent('main')).resolves.toMatch(text);
    expect(result.violations).toEqual([]);
    await result.page.close();
  });
});

describe('the just-in-time pages pass axe-core with no serious violation', () => {
  let bob: BrowserContext;
  let alice: BrowserContext;

  beforeAll(async () => {
    bob = await signedIn('bob', 'pw-bob');
    // On the host whose approval page is audited: deciding needs this very sign-in.
    alice = await signedIn('alice', 'pw-alice', '246810', 'admin.test');
  }, 60_000);

  test('the deny page offering "Request access", and the request form', async () => {
    const result = await audit(bob, stack.url('admin.test', '/'));
    expect(result.status).toBe(403);
    await expect(result.page.locator('form[action="/.ztna/access/request"]').count()).resolves.toBe(
      1,
    );
    expect(result.violations).toEqual([]);
    await result.page.fill('#jit-reason', 'quarterly report needs the admin export');
    await Promise.all([result.page.waitForNavigation(), result.page.click('form button')]);
    expect(new URL(result.page.url()).pathname).toBe('/.ztna/access');
    await result.page.close();
  });

  test('the requester\'s view of /.ztna/access and the deny page saying "pending"', async () => {
    const access = await audit(bob, stack.url('admin.test', '/.ztna/access'));
    expect(access.status).toBe(200);
    await expect(access.page.textContent('main')).resolves.toContain('quarterly report');
    expect(access.violations).toEqual([]);
    const deny = await audit(bob, stack.url('admin.test', '/'));
    expect(deny.status).toBe(403);
    await expect(deny.page.textContent('main')).resolves.toMatch(/waiting for an approver/);
    expect(deny.violations).toEqual([]);
    await Promise.all([access.page.close(), deny.page.close()]);
  });

  test("the approver's view of /.ztna/access", async () => {
    const result = await audit(alice, stack.url('admin.test', '/.ztna/access'));
    expect(result.status).toBe(200);
    await expect(result.page.locator('button[value=approve]').count()).resolves.toBe(1);
    expect(result.violations).toEqual([]);
    await result.page.close();
  });
});
