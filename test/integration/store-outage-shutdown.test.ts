import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

// SIGTERM during a Redis outage: the drain must not wait for a Redis that never answers
// (QUIT on a reconnecting client used to wait forever, and Kubernetes killed the pod instead).
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    routes: (upstream) => `version: 1
routes:
  - name: app
    host: app.test
    upstream: ${upstream}
    policy:
      allow:
        - authenticated: true
`,
  });
});

afterAll(async () => {
  await stack?.close();
});

test('a gateway whose Redis is unreachable shuts down at once', async () => {
  const unreachable = await startStack({
    routes: (upstream) => `version: 1
routes:
  - name: app
    host: app.test
    upstream: ${upstream}
    public: true
`,
    sharing: stack,
    sessionExtra: '  store: redis\n  redis_url_env: TEST_REDIS_URL',
    env: { TEST_REDIS_URL: 'redis://127.0.0.1:9' },
  });
  const started = Date.now();
  await unreachable.gateway.close();
  expect(Date.now() - started).toBeLessThan(5_000);
}, 30_000);
