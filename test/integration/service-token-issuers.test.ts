import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { decodeJwt } from 'jose';
import { eventually } from '../harness/eventually.js';
import { TestClient } from '../harness/http-client.js';
import { createPostureIssuer } from '../harness/posture-issuer.js';
import type { PostureIssuer } from '../harness/posture-issuer.js';
import { sampleValue, startStack } from '../harness/stack.js';
import type { Stack } from '../harness/stack.js';

/**
 * Issue 12 item 5, SPEC §4.1/§4.2: a bearer identity belongs to its issuer. Two clusters, each
 * its own JWKS and its own service_tokens entry. A dev cluster (where more people can mint
 * tokens) must not reach what is written for prod by naming a prod service account, and no
 * workload may pass as a person through email/groups claims of its own making.
 */

const PROD_ISS = 'https://prod.k8s.corp.example';
const DEV_ISS = 'https://dev.k8s.corp.example';
const CHECKOUT = 'system:serviceaccount:shop:checkout';

let dir: string;
let prod: PostureIssuer;
let dev: PostureIssuer;
let stack: Stack;

const routes = (upstream: string) => `version: 1
defaults:
  auth: [bearer]
routes:
  - name: payments
    host: payments.test
    upstream: ${upstream}
    policy:
      allow:
        - issuers: [k8s-prod]
          subjects: ["${CHECKOUT}"]
  - name: admin
    host: admin.test
    upstream: ${upstream}
    auth: [session, bearer]
    policy:
      allow:
        - groups: [admins]
        - emails: [cto@corp.example]
        - email_domains: [corp.example]
  - name: whoami
    host: whoami.test
    upstream: ${upstream}
    policy: { allow: [ { authenticated: true } ] }
  - name: dev-tools
    host: devtools.test
    upstream: ${upstream}
    policy:
      allow:
        - issuers: [k8s-dev, k8s-prod]
          claims: { iss: "${DEV_ISS}" }
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ztna-issuers-'));
  prod = await createPostureIssuer(PROD_ISS, 'ztna-gateway');
  dev = await createPostureIssuer(DEV_ISS, 'ztna-gateway');
  await prod.writeJwks(join(dir, 'prod.json'));
  await dev.writeJwks(join(dir, 'dev.json'));
  stack = await startStack({
    gatewayExtra: `service_tokens:
  - name: k8s-prod
    issuer: ${PROD_ISS}
    audiences: [ztna-gateway]
    jwks_file: ${join(dir, 'prod.json')}
  - name: k8s-dev
    issuer: ${DEV_ISS}
    audiences: [ztna-gateway]
    jwks_uri: ${dev.jwksUrl}`,
    routes,
  });
});

afterAll(async () => {
  await stack.close();
  await prod.close();
  await dev.close();
  await rm(dir, { recursive: true, force: true });
});

async function call(host: string, token: string, path = '/') {
  return new TestClient().request(stack.url(host, path), {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
  });
}

describe('a bearer identity belongs to its issuer', () => {
  test('the prod checkout token passes the rule written for prod', async () => {
    const reply = await call('payments.test', await prod.mint({}, { sub: CHECKOUT }), '/prod');
    expect(reply.status).toBe(200);
  });

  test('a dev token naming the prod service account is refused, audited and counted', async () => {
    const forged = await dev.mint({}, { sub: CHECKOUT });
    const before = stack.upstream.seen.length;
    const denials = sampleValue(await stack.metrics(), 'ztna_policy_denials_total', {
      route: 'payments',
      reason: 'deny:no_rule_matched',
    });
    const reply = await call('payments.test', forged, '/cross-issuer');
    expect(reply.status).toBe(403);
    expect(reply.json()).toMatchObject({ reason: 'deny:no_rule_matched' });
    expect(stack.upstream.seen.length).toBe(before);
    expect(
      await stack.auditLine((l) => l.path === '/cross-issuer' && l.sub === CHECKOUT),
    ).toMatchObject({ auth: 'bearer', decision: 'deny', reason: 'deny:no_rule_matched' });
    expect(
      sampleValue(await stack.metrics(), 'ztna_policy_denials_total', {
        route: 'payments',
        reason: 'deny:no_rule_matched',
      }) - denials,
    ).toBe(1);
  });

  test('claims: { iss } tells the clusters apart', async () => {
    expect((await call('devtools.test', await dev.mint({}, { sub: 'tool' }))).status).toBe(200);
    expect((await call('devtools.test', await prod.mint({}, { sub: 'tool' }))).status).toBe(403);
  });
});

describe('workload tokens never fill the human fields', () => {
  const humanClaims = {
    email: 'cto@corp.example',
    email_verified: true,
    groups: ['admins'],
  };

  test('email and groups claims of a token pass no groups/emails/email_domains rule', async () => {
    const token = await prod.mint(humanClaims, { sub: 'system:serviceaccount:shop:cron' });
    const reply = await call('admin.test', token, '/pretend-human');
    expect(reply.status).toBe(403);
    expect(reply.json()).toMatchObject({ reason: 'deny:no_rule_matched' });
  });

  test('the upstream gets no X-Forwarded-Email/Groups and an assertion without them', async () => {
    const token = await prod.mint(humanClaims, { sub: 'system:serviceaccount:shop:cron' });
    const reply = await call('whoami.test', token, '/who');
    expect(reply.status).toBe(200);
    const seen = stack.upstream.last().headers;
    expect(seen['x-forwarded-user']).toBe('system:serviceaccount:shop:cron');
    expect(seen['x-forwarded-email']).toBeUndefined();
    expect(seen['x-forwarded-groups']).toBeUndefined();
    const assertion = decodeJwt(seen['x-ztna-assertion'] as string);
    expect(assertion).toMatchObject({ sub: 'system:serviceaccount:shop:cron', auth: 'bearer' });
    expect(assertion.email).toBeUndefined();
    expect(assertion.groups).toBeUndefined();
    expect(await stack.auditLine((l) => l.path === '/who')).toMatchObject({
      email: null,
      groups: null,
    });
  });
});

describe('hot reload checks routes.yaml against gateway.yaml service_tokens', () => {
  test('a subjects rule without issuers, or an unknown issuer name, never takes effect', async () => {
    for (const [rule, why] of [
      [`subjects: ["${CHECKOUT}"]`, 'needs issuers next to it'],
      [`issuers: [k8s-prd]\n          subjects: ["${CHECKOUT}"]`, 'did you mean "k8s-prod"?'],
    ] as const) {
      const logged = stack.logLines.length;
      await writeFile(
        stack.routesFile,
        routes(stack.upstream.url).replace(
          `- issuers: [k8s-prod]\n          subjects: ["${CHECKOUT}"]`,
          `- ${rule}`,
        ),
      );
      await eventually(() =>
        stack.logLines
          .slice(logged)
          .find((l) => l.msg === 'routes reload refused; the last good version keeps serving'),
      );
      expect(stack.logLines.slice(logged).some((l) => String(l.config).includes(why))).toBe(true);
      // The last good version still refuses the forged dev token.
      const forged = await dev.mint({}, { sub: CHECKOUT });
      expect((await call('payments.test', forged)).status).toBe(403);
    }
  });
});
