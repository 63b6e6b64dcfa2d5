import { Writable } from 'node:stream';
import type { Page } from 'playwright-core';
import { createLoggers } from '../../src/audit/loggers.js';
import type { RunningGateway } from '../../src/gateway/start.js';
import { runDemo } from '../../src/demo/run-demo.js';

/** The demo of `npm start`, on a free port, with its log lines captured for assertions. */
export interface CapturedDemo {
  readonly demo: RunningGateway;
  /** Every JSON log line, audit and operational, in order. */
  readonly logLines: Record<string, unknown>[];
  /** What the demo printed for the person who started it. */
  readonly banner: string[];
  /** `http://<host>.localhost:<port><path>` for a demo host (app, admin, status). */
  url(host: string, path?: string): string;
  close(): Promise<void>;
}

export async function startCapturedDemo(
  options: { now?: () => number } = {},
): Promise<CapturedDemo> {
  const logLines: Record<string, unknown>[] = [];
  const banner: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line.startsWith('{')) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const demo = await runDemo({
    listen: '127.0.0.1:0',
    print: (line) => banner.push(line),
    loggers: createLoggers('info', sink),
    ...(options.now !== undefined && { now: options.now }),
  });
  return {
    demo,
    logLines,
    banner,
    url: (host, path = '/') => `http://${host}.localhost:${demo.proxyAddress.port}${path}`,
    close: () => demo.close(),
  };
}

/** Fills in the demo IdP's sign-in form like a person would (password `demo`). */
export async function signInAtDemoIdp(page: Page, username: string, otp?: string): Promise<void> {
  await page.waitForSelector('input[name=username]');
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', 'demo');
  if (otp !== undefined) await page.fill('input[name=otp]', otp);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}
