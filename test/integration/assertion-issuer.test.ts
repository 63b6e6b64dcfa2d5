import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { decodeJwt } from 'jose';
import { TestClient } from '../harness/http-client.js';
import { createPostureIssuer } from '../harness/posture-issuer.js';
import type { PostureIssuer } from '../harness/posture-issuer.js';
import { startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

/**
 * Issue 12 item 7, SPEC §8: the assertion's `iss` comes from configuration (`assertion.issuer`,
 * or the route's public URL), never from the client's Host header. Upstreams pin `iss`: a
 * client that could choose it could make one gateway's assertions look like another's.
 */

let dir: string;
let workload: PostureIssuer;
const ISSUER = 'https://kubernetes.default.svc';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ztna-assertion-iss-'));
  workload = await createPostureIssuer(ISSUER, 'ztna-gateway');
  await workload.writeJwks(join(dir, 'jwks.json'));
});
afterAll(async () => {
  await workload.close();
  await rm(dir, { recursive: true, force: true });
});

const serviceTokens = () => `service_tokens:
  - issuer: ${ISSUER}
    audiences: [ztna-gateway]
    jwks_file: ${join(dir, 'jwks.json')}`;

const routes = (upstream: string) => `version: 1
routes:
  - name: api
    host: api.test
    upstream: ${upstream}
    auth: [bearer]
    policy: { allow: [ { authenticated: true } ] }
  - name: wild
    host: "*.wild.test"
    upstream: ${upstream}
    auth: [bearer]
    policy: { allow: [ { authenticated: true } ] }
`;

/** The `iss` of the assertion the upstream received for a request sent with this Host. */
async function issuerSeenFor(stack: Stack, host: string): Promise<unknown> {
  const token = await workload.mint({}, { sub: 'system:serviceaccount:prod:checkout' });
  const reply = await new TestClient().request(stack.url('api.test', '/iss'), {
    headers: { host, authorization: `Bearer ${token}` },
  });
  expect(reply.status).toBe(200);
  return decodeJwt(stack.upstream.last().headers['x-ztna-assertion'] as string).iss;
}

describe('without assertion.issuer: the route public URL', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ gatewayExtra: serviceTokens(), routes });
  });
  afterAll(() => stack.close());

  test.each(['api.test', 'API.Test', 'api.test.', 'api.test:1234', 'Api.TEST.:9'])(
    'Host %s: iss is the configured host with the served scheme',
    async (host) => {
      expect(await issuerSeenFor(stack, host)).toBe('http://api.test');
    },
  );

  test.each(['a.wild.test', 'Evil.Wild.Test.', 'x.y.wild.test:444'])(
    'wildcard route, Host %s: the wildcard domain, the same for every host',
    async (host) => {
      expect(await issuerSeenFor(stack, host)).toBe('http://wild.test');
    },
  );
});

describe('with assertion.issuer', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      gatewayExtra: `${serviceTokens()}\nassertion:\n  issuer: https://gateway.corp.example/`,
      routes,
    });
  });
  afterAll(() => stack.close());

  test.each(['API.test.:80', 'evil.wild.test'])('Host %s: the configured issuer', async (host) => {
    expect(await issuerSeenFor(stack, host)).toBe('https://gateway.corp.example');
  });
});
