// The benchmark stack: upstream and embedded IdP children, the real gateway run through its
// CLI with gateway.yaml/routes.yaml written to a temp dir, the express reference gateway, and
// the ES256 signers of posture assertions and service tokens.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { imageEnv, imageNodeArgs } from './launch.mjs';
import { BENCH_USER } from './protocol.mjs';
import { freePort, ROOT, startNode, waitForHttp } from './procs.mjs';

export const HOSTS = {
  upstream: 'upstream.bench.test',
  public: 'public.bench.test',
  app: 'app.bench.test',
  device: 'device.bench.test',
  api: 'api.bench.test',
  express: 'express.bench.test',
};
const GATEWAY_CLIENT = 'ztna-bench';
const EXPRESS_CLIENT = 'express-bench';
const AUDIENCE = 'ztna-gateway';
const POSTURE_ISSUER = 'https://mdm.bench.test';
const SERVICE_ISSUER = 'https://workloads.bench.test';
export const SERVICE_SUBJECT = 'system:serviceaccount:bench:load-client';
export const DEVICE_ID = 'bench-laptop-0001';

/** The posture claims of a compliant company laptop (SPEC §6), bound to the bench user. */
const COMPLIANT_DEVICE = {
  managed: true,
  os: 'macos',
  os_version: '14.5',
  disk_encrypted: true,
  edr_running: true,
  firewall: true,
  email: BENCH_USER.email,
};

/** Policies as an admin writes them: a deny rule, several allow rules, a stricter /admin. */
function policy(posture) {
  const needs = posture ? '\n          posture: baseline' : '';
  return `    policy:
      deny:
        - ip: [203.0.113.0/24, 198.51.100.0/24]
      allow:
        - groups: [sre, platform]${needs}
        - groups: [engineering, support]
          methods: [GET, HEAD, POST]${needs}
        - emails: [cto@corp.example, ${BENCH_USER.email}]${needs}
    rules:
      - path: /admin
        methods: [POST, PUT, PATCH, DELETE]
        policy:
          allow:
            - groups: [app-admins]
              mfa: true
              auth_max_age: 1h`;
}

function routesYaml(upstream) {
  return `version: 1
posture_profiles:
  baseline:
    managed: true
    disk_encrypted: true
    edr_running: true
    min_os_version: { macos: "14.4", windows: "10.0.19045", linux: "6.1" }
    max_age: 15m
routes:
  - name: public
    host: ${HOSTS.public}
    upstream: ${upstream}
    public: true
  - name: app
    host: ${HOSTS.app}
    upstream: ${upstream}
${policy(false)}
  - name: device-app
    host: ${HOSTS.device}
    upstream: ${upstream}
${policy(true)}
  - name: api
    host: ${HOSTS.api}
    upstream: ${upstream}
    auth: [bearer]
    policy:
      allow:
        - subjects: ["${SERVICE_SUBJECT}", "spiffe://corp.example/ns/bench/sa/other"]
`;
}

/** The session store section: memory, or Redis at the URL in BENCH_REDIS_URL. */
function storeYaml(store) {
  return store === 'redis' ? 'store: redis\n  redis_url_env: BENCH_REDIS_URL' : 'store: memory';
}

function gatewayYaml({ ports, issuer, dir, store, limits }) {
  return `listen: "127.0.0.1:${ports.gateway}"
admin_listen: "127.0.0.1:${ports.admin}"
routes_file: routes.yaml
idp:
  issuer: ${issuer}
  client_id: ${GATEWAY_CLIENT}
  client_secret_env: BENCH_CLIENT_SECRET
session:
  secret_env: BENCH_SESSION_SECRET
  ${storeYaml(store)}
posture:
  issuers:
    - issuer: ${POSTURE_ISSUER}
      audience: ${AUDIENCE}
      jwks_file: ${join(dir, 'posture-jwks.json')}
service_tokens:
  - issuer: ${SERVICE_ISSUER}
    audiences: [${AUDIENCE}]
    jwks_file: ${join(dir, 'service-jwks.json')}
assertion:
  key_file: ${join(dir, 'assertion-key.jwk')}
${limits ? `limits:\n  ${limits}\n` : ''}log:
  level: warn
`;
}

/** An ES256 signer whose public key is written as a JWKS file for gateway.yaml. */
async function createSigner(file, issuer) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `${issuer.replace(/\W+/g, '-')}-1`;
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  await writeFile(file, JSON.stringify({ keys: [jwk] }));
  return (subject, claims = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(AUDIENCE)
      .setSubject(subject)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(privateKey);
  };
}

/** Runs the gateway's CLI (`node dist/main.js ...args`) with the bench's environment. */
function gatewayCli(env, ...args) {
  return promisify(execFile)(process.execPath, ['dist/main.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
}

/**
 * Writes a gateway.yaml as `file` and validates it with routes.yaml by `ztna-gateway check`. The sign-in rate
 * limit is lifted for the login benchmark; a gateway whose schema no longer knows that key
 * (it only counts failed sign-ins now) gets the file without it.
 */
async function writeGatewayConfig(file, dir, settings, env) {
  const cli = (...args) => gatewayCli(env, ...args);
  const check = () =>
    cli('check', '--config', file, '--routes', join(dir, 'routes.yaml')).then(
      () => '',
      (error) => `${error.stdout}${error.stderr}`,
    );
  await writeFile(file, gatewayYaml({ ...settings, limits: 'login_rate_per_minute: 100000' }));
  let problems = await check();
  if (problems.includes('login_rate_per_minute')) {
    await writeFile(file, gatewayYaml(settings));
    problems = await check();
  }
  if (problems !== '')
    throw new Error(`the bench's gateway configuration is refused:\n${problems}`);
  return file;
}

/**
 * Starts the upstream and the embedded IdP (the gateway and the express gateway are its
 * registered clients) and writes the gateway's configuration. Gateways are started
 * afresh per target with `startGateway()`, always on the same ports (the IdP knows them).
 *
 * Options: `instances` gateway instances (each its own proxy and admin port, all registered
 * at the IdP, all with the same session secret and assertion key, as a scaled-out deployment
 * has them); `redisUrl` makes `session.store: redis` the default of `startGateway()`; `users`
 * are more people at the IdP besides BENCH_USER.
 */
export async function startBenchStack({ instances = 1, redisUrl, users = [] } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'ztna-bench-'));
  const running = [];
  try {
    const instancePorts = [];
    for (let i = 0; i < instances; i++)
      instancePorts.push({ gateway: await freePort(), admin: await freePort() });
    const ports = {
      gateway: instancePorts[0].gateway,
      admin: instancePorts[0].admin,
      express: await freePort(),
      instances: instancePorts,
    };
    const env = {
      BENCH_CLIENT_SECRET: randomBytes(16).toString('hex'),
      BENCH_SESSION_SECRET: randomBytes(32).toString('hex'),
      ...(redisUrl !== undefined && { BENCH_REDIS_URL: redisUrl }),
    };
    const defaultStore = redisUrl === undefined ? 'memory' : 'redis';
    const expressSecret = randomBytes(16).toString('hex');

    const upstream = startNode('bench/servers/upstream.mjs', [], {
      readyLine: true,
      name: 'upstream',
    });
    running.push(upstream);
    const upstreamPort = (await upstream.ready).port;
    const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;

    const origin = (host, port) => `http://${host}:${port}`;
    const gatewayOrigins = instancePorts.flatMap(({ gateway }) =>
      [HOSTS.public, HOSTS.app, HOSTS.device, HOSTS.api].map((h) => origin(h, gateway)),
    );
    const clients = [
      {
        clientId: GATEWAY_CLIENT,
        clientSecret: env.BENCH_CLIENT_SECRET,
        redirectUris: gatewayOrigins.map((o) => `${o}/.ztna/callback`),
        postLogoutRedirectUris: gatewayOrigins.map((o) => `${o}/.ztna/signed-out`),
      },
      {
        clientId: EXPRESS_CLIENT,
        clientSecret: expressSecret,
        redirectUris: [`${origin(HOSTS.express, ports.express)}/callback`],
        postLogoutRedirectUris: [],
      },
    ];
    const idp = startNode(
      'bench/servers/idp.mjs',
      [JSON.stringify({ users: [BENCH_USER, ...users], clients })],
      {
        readyLine: true,
        name: 'idp',
      },
    );
    running.push(idp);
    const { issuer } = await idp.ready;

    await writeFile(join(dir, 'routes.yaml'), routesYaml(upstreamUrl));
    const signPosture = await createSigner(join(dir, 'posture-jwks.json'), POSTURE_ISSUER);
    const signService = await createSigner(join(dir, 'service-jwks.json'), SERVICE_ISSUER);
    // The identity assertion's signing key, as an SRE makes it (`ztna-gateway keys generate`),
    // one for every instance.
    await writeFile(
      join(dir, 'assertion-key.jwk'),
      (await gatewayCli(env, 'keys', 'generate')).stdout,
    );
    /** gateway.yaml per store and instance, written and checked when first needed. */
    const configs = new Map();
    const configFor = (store, instance) => {
      const key = `${store}-${instance}`;
      if (!configs.has(key)) {
        const file = join(
          dir,
          instance === 0 && store === 'memory' ? 'gateway.yaml' : `gateway-${key}.yaml`,
        );
        const settings = { ports: instancePorts[instance], issuer, dir, store };
        configs.set(key, writeGatewayConfig(file, dir, settings, env));
      }
      return configs.get(key);
    };
    await configFor(defaultStore, 0);

    let gatewayCount = 0;
    return {
      dir,
      ports,
      issuer,
      upstream: { handle: upstream, port: upstreamPort, url: upstreamUrl },
      idp,
      /** URL of `path` on a gateway route host (HOSTS key), of gateway instance `instance`. */
      gatewayUrl: (host, path = '/', instance = 0) =>
        `${origin(HOSTS[host], instancePorts[instance].gateway)}${path}`,
      /** URL of `path` on the admin listener of gateway instance `instance`. */
      adminUrl: (path, instance = 0) => `http://127.0.0.1:${instancePorts[instance].admin}${path}`,
      expressUrl: (path = '/') => `${origin(HOSTS.express, ports.express)}${path}`,
      postureAssertion: () => signPosture(DEVICE_ID, COMPLIANT_DEVICE),
      serviceToken: () => signService(SERVICE_SUBJECT),

      /**
       * The real gateway, as a user runs it: `node dist/main.js serve --config --routes`. Its
       * stdout (audit lines) goes to /dev/null, or to BENCH_GATEWAY_LOG_DIR/gateway-N.log.
       * `instance` picks the ports (of `instances`), `store` the session store (memory or
       * redis; redis by default when the stack has a `redisUrl`), `main` the build (another
       * checkout's dist/main.js for --baseline). Node runs with that build's image options
       * (its Dockerfile's ENTRYPOINT), then `nodeArgs` (by default BENCH_GATEWAY_NODE_ARGS), and
       * with the environment its image sets.
       */
      async startGateway({
        instance = 0,
        store = defaultStore,
        main = 'dist/main.js',
        nodeArgs = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean),
      } = {}) {
        const config = await configFor(store, instance);
        gatewayCount += 1;
        const logDir = process.env.BENCH_GATEWAY_LOG_DIR;
        const build = resolve(ROOT, main, '..', '..');
        const gateway = startNode(
          main,
          ['serve', '--config', config, '--routes', join(dir, 'routes.yaml')],
          {
            env: { ...imageEnv(build), ...env },
            // e.g. BENCH_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile under load.
            nodeArgs: [...imageNodeArgs(build), ...nodeArgs],
            name: `gateway #${gatewayCount}`,
            ...(logDir && { stdoutFile: join(logDir, `gateway-${gatewayCount}.log`) }),
          },
        );
        try {
          await waitForHttp(`http://127.0.0.1:${instancePorts[instance].admin}/readyz`, gateway);
        } catch (error) {
          await gateway.stop();
          throw error;
        }
        return gateway;
      },

      /** Target d's express + express-openid-connect + http-proxy-middleware gateway. */
      async startExpress() {
        const server = startNode(
          'bench/servers/express-oidc.mjs',
          [
            JSON.stringify({
              port: ports.express,
              baseURL: origin(HOSTS.express, ports.express),
              issuer,
              clientId: EXPRESS_CLIENT,
              clientSecret: expressSecret,
              secret: randomBytes(32).toString('hex'),
              upstream: upstreamUrl,
            }),
          ],
          { readyLine: true, name: 'express gateway' },
        );
        await server.ready;
        return server;
      },

      async close() {
        await Promise.all(running.map((p) => p.stop()));
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all(running.map((p) => p.stop()));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
