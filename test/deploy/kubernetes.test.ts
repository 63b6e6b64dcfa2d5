import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { parse, parseAllDocuments } from 'yaml';
import { spawnCli } from '../harness/spawn.js';

// deploy/kubernetes (issue 13, SPEC §12): every manifest is a valid Kubernetes object, the
// kustomizations hold together, the Deployment is what the README promises (2 replicas,
// tokenless probes on the admin port, non-root, read-only root, resources, preStop), and the
// gateway.yaml and routes.yaml inside the ConfigMaps pass `ztna-gateway check`.

const ROOT = 'deploy/kubernetes';

type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [key: string]: unknown;
};

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return path.endsWith('.yaml') ? [path] : [];
  });
}

const files = yamlFiles(ROOT);
const kustomizations = files.filter((f) => f.endsWith('/kustomization.yaml'));
const manifests = files.filter((f) => !f.endsWith('/kustomization.yaml'));

function objectsOf(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
    expect(doc.errors).toEqual([]);
    return doc.toJSON() as K8sObject;
  });
}

/** The kubernetes-models class for an object (`apps/v1` Deployment → kubernetes-models/apps/v1). */
async function modelFor(object: K8sObject) {
  const module = (await import(`kubernetes-models/${object.apiVersion}`)) as Record<
    string,
    new (data: unknown) => { validate(): void }
  >;
  const Model = module[object.kind];
  if (Model === undefined) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  return new Model(object);
}

const all = manifests.flatMap((file) => objectsOf(file).map((object) => ({ file, object })));
const find = (kind: string, name?: string) =>
  all.find((o) => o.object.kind === kind && (name === undefined || o.object.metadata.name === name))
    ?.object as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('deploy/kubernetes', () => {
  test('every manifest validates against the Kubernetes schemas', async () => {
    expect(all.length).toBeGreaterThanOrEqual(12);
    for (const { file, object } of all) {
      const model = await modelFor(object);
      expect(() => model.validate()).not.toThrow();
      expect([file, object.metadata?.name]).toEqual([file, expect.any(String)]);
    }
  });

  test('the validator refuses what Kubernetes would refuse', async () => {
    const deployment = structuredClone(find('Deployment', 'ztna-gateway'));
    deployment.spec.replicas = 'two';
    await expect(modelFor(deployment as K8sObject).then((m) => m.validate())).rejects.toThrow(
      /replicas must be integer/,
    );
    const probe = structuredClone(find('Deployment', 'ztna-gateway'));
    probe.spec.template.spec.containers[0].readinessProbe.httpGet.port = { name: 'admin' };
    await expect(modelFor(probe as K8sObject).then((m) => m.validate())).rejects.toThrow();
  });

  test('every kustomization names files that exist, and every manifest is used by one', () => {
    const used = new Set<string>();
    for (const file of kustomizations) {
      const kustomization = parse(readFileSync(file, 'utf8')) as { resources: string[] };
      for (const resource of kustomization.resources) {
        const path = join(dirname(file), resource);
        expect([file, resource, existsSync(path)]).toEqual([file, resource, true]);
        used.add(
          existsSync(join(path, 'kustomization.yaml')) ? join(path, 'kustomization.yaml') : path,
        );
      }
    }
    // A template is never applied as is.
    const unused = manifests.filter((f) => !used.has(f)).map((f) => relative(ROOT, f));
    expect(unused).toEqual(['base/secret.template.yaml']);
  });

  test('the Deployment runs 2 hardened replicas probed on the admin port without a token', () => {
    const deployment = find('Deployment', 'ztna-gateway');
    const pod = deployment.spec.template.spec;
    const [gateway] = pod.containers;
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(gateway.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(gateway.resources.requests).toMatchObject({ cpu: expect.any(String) });
    expect(gateway.resources.limits).toMatchObject({ memory: expect.any(String) });
    expect(gateway.lifecycle.preStop).toBeDefined();
    expect(gateway.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'admin' });
    expect(gateway.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'admin' });
    // Probes send no Authorization header: SPEC §9 makes /healthz and /readyz tokenless.
    expect(gateway.readinessProbe.httpGet.httpHeaders).toBeUndefined();

    const gatewayYaml = parse(find('ConfigMap', 'ztna-gateway-config').data['gateway.yaml']);
    const adminPort = Number(String(gatewayYaml.admin_listen).split(':').pop());
    expect(gateway.ports).toContainEqual({ name: 'admin', containerPort: adminPort });
    // Hot reload follows the ConfigMap's symlink swap only for a directory mount (no subPath).
    const routesMount = gateway.volumeMounts.find((m: { name: string }) => m.name === 'routes');
    expect(routesMount.subPath).toBeUndefined();
    expect(gatewayYaml.routes_file).toBe(`${routesMount.mountPath}/routes.yaml`);
    expect(pod.volumes.find((v: { name: string }) => v.name === 'routes').configMap.name).toBe(
      'ztna-gateway-routes',
    );
  });

  test('every secret gateway.yaml names is in the Secret template', () => {
    const gatewayYaml = readFileSync(join(ROOT, 'base/configmap-gateway.yaml'), 'utf8');
    const secret = find('Secret', 'ztna-gateway-secrets');
    const names = [...gatewayYaml.matchAll(/_env: (\w+)/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThanOrEqual(4);
    for (const name of names) expect(Object.keys(secret.stringData)).toContain(name);
    expect(Object.keys(secret.stringData)).toContain('assertion-key.jwk');
  });

  test('the ConfigMaps hold a gateway.yaml and routes.yaml that ztna-gateway check accepts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ztna-k8s-'));
    try {
      const config = join(dir, 'gateway.yaml');
      const routes = join(dir, 'routes.yaml');
      // The pod's Secret, as the template describes it: variables and a generated key file.
      const keys = spawnCli(['keys', 'generate']);
      expect(await keys.exited).toBe(0);
      const keyFile = join(dir, 'assertion-key.jwk');
      await writeFile(keyFile, keys.stdout());
      const podEnv = {
        ZTNA_CLIENT_SECRET: 'client-secret-from-the-idp',
        ZTNA_SESSION_SECRET: randomBytes(48).toString('base64'),
        ZTNA_ADMIN_TOKEN: randomBytes(32).toString('base64url'),
        ZTNA_REDIS_URL: 'redis://ztna-redis:6379',
      };
      const gatewayYaml: string = find('ConfigMap', 'ztna-gateway-config').data['gateway.yaml'];
      expect(gatewayYaml).toContain('key_file: /etc/ztna/secrets/assertion-key.jwk');
      await writeFile(config, gatewayYaml.replace('/etc/ztna/secrets/assertion-key.jwk', keyFile));
      await writeFile(routes, find('ConfigMap', 'ztna-gateway-routes').data['routes.yaml']);
      const check = spawnCli(['check', '--config', config, '--routes', routes], podEnv);
      const code = await check.exited;
      expect({ code, out: check.stdout(), err: check.stderr() }).toMatchObject({ code: 0 });
      // The checker is not a rubber stamp: the same routes with a typo fail.
      await writeFile(
        routes,
        find('ConfigMap', 'ztna-gateway-routes').data['routes.yaml'].replace(
          'upstream:',
          'upstrem:',
        ),
      );
      const broken = spawnCli(['check', '--config', config, '--routes', routes], podEnv);
      expect(await broken.exited).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
