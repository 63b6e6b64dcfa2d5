import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from '../harness/browser.js';
import { signInAtDemoIdp as signIn, startCapturedDemo } from '../harness/demo.js';
import type { CapturedDemo } from '../harness/demo.js';
import { eventually } from '../harness/eventually.js';

/**
 * Just-in-time access, the whole journey of issue 14 in the demo, in Chromium: bob is denied
 * the admin app and asks; alice steps up with her second factor and approves; bob gets in
 * without signing in again; the grant runs out and bob is denied again. Each page is saved as
 * a screenshot under test-artifacts/jit-journey/ (the README shows two of them).
 */
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'jit-journey');
const HOUR = 3_600_000;

let started: CapturedDemo;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let offsetMs = 0;

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  started = await startCapturedDemo({ now: () => Date.now() + offsetMs });
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await started?.close();
});

const url = (host: string, path = '/') => started.url(host, path);

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const jitLine = (event: string) =>
  eventually(() => started.logLines.find((l) => l.type === 'audit' && l.jit === event));

let bob: BrowserContext;
let bobPage: Page;

test('1. bob is denied the admin app, asks with a reason, and sees his request pending', async () => {
  bob = await browser.browser.newContext();
  bobPage = await bob.newPage();
  await bobPage.goto(url('admin'));
  await signIn(bobPage, 'bob');
  await expect(bobPage.textContent('h1')).resolves.toBe('Access denied');
  await expect(bobPage.textContent('main')).resolves.toContain('Request access');
  await bobPage.selectOption('#jit-duration', '1h');
  await bobPage.fill('#jit-reason', 'Export the Q3 customer list for the audit');
  await shot(bobPage, '01-bob-denied-asks');
  await Promise.all([
    bobPage.waitForNavigation(),
    bobPage.click('form[action="/.ztna/access/request"] button'),
  ]);
  expect(new URL(bobPage.url()).pathname).toBe('/.ztna/access');
  await expect(bobPage.textContent('main')).resolves.toContain(
    'Export the Q3 customer list for the audit',
  );
  await shot(bobPage, '02-bob-request-pending');
  // The deny page now says the request is waiting, instead of offering a second one.
  await bobPage.goto(url('admin'));
  await expect(bobPage.textContent('main')).resolves.toMatch(/waiting for an approver/);
  await shot(bobPage, '03-bob-deny-page-pending');
  expect(await jitLine('requested')).toMatchObject({
    grant: 'demo-admin',
    for_email: 'bob@corp.example',
    reason: 'Export the Q3 customer list for the audit',
  });
}, 60_000);

test('2. alice opens the approval page, steps up with her second factor and approves', async () => {
  const alice = await browser.browser.newContext();
  const page = await alice.newPage();
  await page.goto(url('admin', '/.ztna/access'));
  await signIn(page, 'alice');
  // An approver without a second factor in this sign-in is sent back to the IdP for one.
  expect(page.url()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/interaction\//);
  await shot(page, '04-alice-step-up');
  await signIn(page, 'alice', '123456');
  expect(page.url()).toBe(url('admin', '/.ztna/access'));
  await expect(page.textContent('main')).resolves.toContain('bob@corp.example');
  await expect(page.textContent('main')).resolves.toContain(
    'Export the Q3 customer list for the audit',
  );
  await shot(page, '05-alice-approves');
  await Promise.all([page.waitForNavigation(), page.click('button[value=approve]')]);
  await shot(page, '06-alice-approved');
  expect(await jitLine('approved')).toMatchObject({
    grant: 'demo-admin',
    for_email: 'bob@corp.example',
    by: 'alice@corp.example',
  });
  await alice.close();
}, 60_000);

test('3. bob reaches the admin app on his next request, without signing in again', async () => {
  const response = await bobPage.goto(url('admin', '/welcome'));
  expect(response?.status()).toBe(200);
  expect(bobPage.url()).toBe(url('admin', '/welcome'));
  await expect(bobPage.textContent('h1')).resolves.toBe('Demo internal app');
  await shot(bobPage, '07-bob-in');
  expect(await jitLine('used')).toMatchObject({ grant: 'demo-admin', for_sub: 'bob' });
  // /.ztna/me lists the grant and when it ends.
  await bobPage.goto(url('admin', '/.ztna/me'));
  await expect(bobPage.textContent('main')).resolves.toContain('demo-admin');
  await shot(bobPage, '08-bob-me-grant');
}, 60_000);

test('4. once the hour has passed, bob is denied again', async () => {
  offsetMs = HOUR + 60_000;
  const response = await bobPage.goto(url('admin', '/welcome'));
  expect(response?.status()).toBe(403);
  await expect(bobPage.textContent('h1')).resolves.toBe('Access denied');
  await shot(bobPage, '09-bob-denied-after-expiry');
  await started.demo.expireGrants();
  expect(await jitLine('expired')).toMatchObject({ grant: 'demo-admin', for_sub: 'bob' });
  await bob.close();
}, 60_000);
