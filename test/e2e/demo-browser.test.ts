import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { launchBrowser } from '../harness/browser.js';
import { signInAtDemoIdp as signIn, startCapturedDemo } from '../harness/demo.js';
import type { CapturedDemo } from '../harness/demo.js';
import { eventually } from '../harness/eventually.js';

// The quick start a new user gets from `npm start`, driven in a real browser.
let started: CapturedDemo;
let browser: Awaited<ReturnType<typeof launchBrowser>>;

beforeAll(async () => {
  started = await startCapturedDemo();
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await started?.close();
});

const url = (host: string, path = '/') => started.url(host, path);

test('the banner says what to open and who can sign in', () => {
  const text = started.banner.join('\n');
  expect(text).toContain(url('app'));
  expect(text).toContain(url('admin'));
  expect(text).toMatch(/alice \(engineering/);
});

test('alice signs in and reaches the admin app, identity and WebSocket included', async () => {
  const context = await browser.browser.newContext();
  const page = await context.newPage();
  await page.goto(url('admin', '/welcome?from=e2e'));
  expect(page.url()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/interaction\//);
  await signIn(page, 'alice');
  expect(page.url()).toBe(url('admin', '/welcome?from=e2e'));
  await expect(page.textContent('h1')).resolves.toBe('Demo internal app');
  const rows = await page.locator('table').innerText();
  expect(rows).toContain('alice@corp.example');
  expect(rows).toMatch(/x-forwarded-user\s+alice/);
  await page.waitForFunction("document.getElementById('ws')?.textContent?.startsWith('received')");
  await expect(page.textContent('#ws')).resolves.toBe('received "hello"');

  // Other demo hosts log in silently through the IdP's own session.
  await page.goto(url('app'));
  expect(page.url()).toBe(url('app'));
  await context.close();
});

test('admin settings need a second factor: the browser steps up at the IdP and comes back', async () => {
  const context = await browser.browser.newContext();
  const page = await context.newPage();
  await page.goto(url('admin'));
  await signIn(page, 'alice');
  expect(page.url()).toBe(url('admin'));
  await page.goto(url('admin', '/settings'));
  // Back at the IdP, which must authenticate again; this time with the one-time code.
  expect(page.url()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/interaction\//);
  await signIn(page, 'alice', '123456');
  expect(page.url()).toBe(url('admin', '/settings'));
  await expect(page.textContent('h1')).resolves.toBe('Demo internal app');
  await context.close();
});

test('bob is denied the admin app with a page that says why', async () => {
  const context = await browser.browser.newContext();
  const page = await context.newPage();
  const response = await page.goto(url('admin'));
  expect(response?.status()).toBe(200);
  await signIn(page, 'bob');
  await expect(page.textContent('h1')).resolves.toBe('Access denied');
  await expect(page.textContent('main')).resolves.toContain('bob@corp.example');
  const denied = await eventually(() =>
    started.logLines.find((l) => l.type === 'audit' && l.decision === 'deny' && l.sub === 'bob'),
  );
  expect(denied).toMatchObject({
    route: 'demo-admin',
    reason: 'deny:no_rule_matched',
    status: 403,
  });
  await context.close();
});

test('the public status page needs no sign-in', async () => {
  const context = await browser.browser.newContext();
  const page = await context.newPage();
  const response = await page.goto(url('status', '/status'));
  expect(response?.status()).toBe(200);
  expect(page.url()).toBe(url('status', '/status'));
  await context.close();
});

test('sign-out ends the gateway session and the IdP session', async () => {
  const context = await browser.browser.newContext();
  const page = await context.newPage();
  await page.goto(url('app'));
  await signIn(page, 'alice');
  await page.goto(url('app', '/.ztna/logout'));
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  // The IdP asks to confirm ending its own session, then returns to the gateway.
  expect(page.url()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/session\/end/);
  await Promise.all([
    page.waitForURL(url('app', '/.ztna/signed-out')),
    page.click('button[value=yes]'),
  ]);
  await expect(page.textContent('h1')).resolves.toBe('You are signed out');
  // Both sessions are gone: the app asks for the password again.
  await page.goto(url('app'));
  expect(page.url()).toMatch(/\/interaction\//);
  await context.close();
});
