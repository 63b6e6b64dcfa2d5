/**
 * The differential test of SPEC §2: "`explain` and `test` run the same steps without I/O, so
 * they can never disagree with `serve`", and "a WebSocket upgrade is a request like any other:
 * the same steps, in the same code, decide it". fast-check generates requests (method, host,
 * path, user — and with it groups, claims, MFA and sign-in age —, device posture, source IP and
 * time) over a routes.yaml that uses every condition of SPEC §4.2, and runs each one three ways:
 *
 *  1. as an HTTP request through the running gateway (its audit line, SPEC §11);
 *  2. for GET, as a WebSocket upgrade through the running gateway (its audit line);
 *  3. through `ztna-gateway explain`, in-process, with the same facts on its command line.
 *
 * All three must give the same answer (see `Answer` for how their wordings are normalised).
 * Issue 10 names drifts that made them disagree; the plain tests at the end pin each of them
 * down on its own. A failure prints the request, the three answers and explain's whole output;
 * `FC_SEED=… FC_PATH=…` replays a counterexample, `FC_RUNS=1000` explores longer.
 *
 * Every signed-in person with a device agent has a session bound to that device (SPEC §6), and
 * explain is told so (`--session-device`). Their requests mostly bring the device's signed
 * report; now and then none, a refused one, plain `X-Device-*` headers from an untrusted peer,
 * or another device's report: serve then ends the session and asks to sign in again
 * (`device_missing`, `device_changed`), and the person signs in anew before the next leg.
 *
 * What explain cannot be told is kept out of the generated world, not folded into the
 * comparison: an IdP `sub` that is not the email address (in `subjects` rules), an identity
 * without `auth_time` (sign-ins ask for one), a session that has just stepped up, and
 * `email_verified: false`.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { OutgoingHttpHeaders } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { runExplain } from '../../src/cli/explain.js';
import type { CliIo } from '../../src/cli/io.js';
import type { IdpUser } from '../../src/demo/idp.js';
import { TestClient } from '../harness/http-client.js';
import type { Reply, RequestOptions } from '../harness/http-client.js';
import { COMPLIANT, createPostureIssuer } from '../harness/posture-issuer.js';
import type { PostureIssuer } from '../harness/posture-issuer.js';
import { startStack } from '../harness/stack.js';
import type { AuditLine, Stack } from '../harness/stack.js';

// ---------------------------------------------------------------------------------------------
// The world: people at the IdP, their devices, and a routes.yaml using every condition.
// ---------------------------------------------------------------------------------------------

type Username = 'alice' | 'bob' | 'carol' | 'dave' | 'erin' | 'grace';

/** Someone at the IdP, whether they sign in with their one-time code, and their laptop. */
interface Person {
  readonly idp: IdpUser;
  /** A correct one-time code is the second factor: amr [pwd, otp] instead of [pwd]. */
  readonly withOtp: boolean;
  /** The device id their device agent reports; none: no agent, no posture. */
  readonly device: string | undefined;
}

function person(
  username: Username,
  idp: Omit<IdpUser, 'username' | 'password' | 'name' | 'sub'> & { sub?: string },
  options: { withOtp?: boolean; device?: string | undefined } = {},
): Person {
  return {
    idp: {
      sub: username,
      username,
      password: `pw-${username}`,
      name: username[0]!.toUpperCase() + username.slice(1),
      ...idp,
    },
    withOtp: options.withOtp ?? false,
    device: 'device' in options ? options.device : `laptop-${username}`,
  };
}

/**
 * The IdP's people. The embedded IdP issues `sub`, `email`, `email_verified`, `name`, `groups`
 * and `amr` (src/demo/idp.ts; `acr` only when asked with acr_values) and no custom claims, so
 * `claims` conditions look at `name`. `explain --user EMAIL` makes the email address the
 * subject too, so `subjects` rules name dave, whose IdP uses the address as `sub` (as many do,
 * with UPNs); a rule naming an opaque `sub` such as erin's could not be described to explain.
 */
const PEOPLE: Readonly<Record<Username, Person>> = {
  alice: person(
    'alice',
    { email: 'alice@corp.test', groups: ['engineering', 'wiki-admins'], otp: '246810' },
    { withOtp: true },
  ),
  bob: person('bob', { email: 'bob@corp.test', groups: ['sales'] }),
  // No groups claim at all, and no device agent.
  carol: person('carol', { email: 'carol@partner.test' }, { device: undefined }),
  // Could use a second factor, but signs in with a password only. The IdP's `sub` is the
  // address.
  dave: person('dave', {
    sub: 'dave@corp.test',
    email: 'dave@corp.test',
    groups: ['support', 'finance', 'wiki-admins'],
    otp: '135790',
  }),
  erin: person(
    'erin',
    {
      sub: 'erin-7f3a',
      email: 'Erin@Contractor.Test',
      groups: ['contractors', 'engineering'],
      otp: '112233',
    },
    { withOtp: true },
  ),
  // Only for the token refresh case (disabled at the IdP there); never in the property.
  grace: person('grace', { email: 'grace@corp.test', groups: ['engineering'] }),
};

const PROPERTY_USERS = ['alice', 'bob', 'carol', 'dave', 'erin'] as const;

/** The device of a browser without a session (a kiosk): posture, but nobody signed in. */
const ANONYMOUS_DEVICE = 'kiosk-1';

const ROUTES = (upstream: string) => `version: 1
posture_profiles:
  baseline:
    managed: true
    disk_encrypted: true
    edr_running: true
    min_os_version: { macos: "14.4", windows: "10.0.19045", linux: "6.1" }
    max_age: 15m
routes:
  # Groups + a named posture profile, emails + methods, email_domains + paths; a deny rule by
  # network; sub-rules by path and methods, and by a longer path alone.
  - name: wiki
    host: wiki.corp.test
    upstream: ${upstream}
    policy:
      allow:
        - groups: [engineering, support]
          posture: baseline
        - emails: [Bob@Corp.Test, carol@partner.test]
          methods: [GET, HEAD]
        - email_domains: [partner.test]
          paths: [/public-docs]
      deny:
        - ip: [203.0.113.0/24, "2001:db8:bad::/48"]
    rules:
      # Just-in-time access on a sub-rule (SPEC §13): a wiki-admin grant, with MFA.
      - path: /admin
        methods: [POST, PUT, PATCH, DELETE]
        jit: { grant: wiki-admin, max_duration: 4h, approvers: { groups: [wiki-admins] } }
        policy:
          allow:
            - groups: [wiki-admins]
              mfa: true
              auth_max_age: 1h
            - grant: wiki-admin
              mfa: true
      - path: /admin/audit-log
        policy:
          allow:
            - subjects: [dave@corp.test]
              ip: [10.0.0.0/8]
            - groups: [wiki-admins]
              posture: baseline
  # The longest path prefix on the same host: claims and office hours; a deny rule by method
  # and a window across midnight in another time zone.
  - name: wiki-api
    host: wiki.corp.test
    path: /api
    upstream: ${upstream}
    policy:
      allow:
        - claims: { name: [Alice, Erin] }
          time: { days: [mon, tue, wed, thu, fri], between: "08:00-18:00", tz: Europe/Berlin }
        - authenticated: true
          methods: [GET, HEAD]
          mfa: true
      deny:
        - methods: [DELETE, PUT]
          time: { between: "22:00-06:00", tz: America/New_York }
  # Both step-up conditions with an inline posture profile; claims in a deny rule; just-in-time
  # read access on the route (which its deny rules still override).
  - name: finance
    host: finance.corp.test
    upstream: ${upstream}
    jit: { grant: finance-read, max_duration: 8h, approvers: { emails: [dave@corp.test] } }
    policy:
      allow:
        - groups: [finance, engineering]
          mfa: true
          auth_max_age: 2h
          posture: { managed: true, os: [macos, windows], firewall: true, max_age: 5m }
        - email_domains: [corp.test]
          paths: [/reports]
          methods: [GET, HEAD]
          ip: [10.0.0.0/8, 192.168.0.0/16]
        - grant: finance-read
          methods: [GET, HEAD]
      deny:
        - groups: [contractors]
        - claims: { name: [Bob, Dave] }
          paths: [/reports/payroll]
  # Audit mode: would-be denials are logged as audit_deny and let through.
  - name: legacy
    host: audit.corp.test
    mode: audit
    upstream: ${upstream}
    policy:
      allow:
        - groups: [engineering]
          posture: baseline
          time: { days: [mon, tue, wed, thu, fri], tz: UTC }
        - subjects: [dave@corp.test]
          mfa: true
      deny:
        - emails: [erin@contractor.test]
  # Takes double-encoded separators (%252F) as literal text; every other route refuses them.
  - name: status
    host: status.corp.test
    upstream: ${upstream}
    public: true
    allow_double_encoding: true
  # A wildcard host; sub-rules chosen by path and methods, and by methods alone.
  - name: apps
    host: "*.apps.corp.test"
    upstream: ${upstream}
    policy:
      allow:
        - groups: [engineering]
          mfa: true
        - subjects: [dave@corp.test]
          posture: { os: [macos, windows, linux], disk_encrypted: true }
    rules:
      - path: /static
        methods: [GET, HEAD]
        policy: { allow: [{ authenticated: true }] }
      - methods: [DELETE]
        policy: { allow: [{ emails: [alice@corp.test], ip: [10.0.0.0/8] }] }
  # No policy: nobody gets in.
  - name: locked
    host: locked.corp.test
    upstream: ${upstream}
`;

/** Where browsers sign in; the session cookie covers every host under .corp.test. */
const LOGIN_HOST = 'wiki.corp.test';

// ---------------------------------------------------------------------------------------------
// The three legs' answers, normalised.
// ---------------------------------------------------------------------------------------------

/**
 * One answer, whoever gave it. Normalisation (the only place where legs are allowed to differ
 * in wording, never in meaning):
 *
 * - `effect` is what the policy (or an earlier step) decided: `allow`, `deny`, `step_up`
 *   (sign in again, with MFA or more recently), `login` (no session: sign in), or `error`.
 * - serve's audit `decision` maps as: `allow` and `public` → allow; `deny` → deny; `login`
 *   → step_up when its reason is a `step_up:*` reason (serve answers a step-up with a login
 *   challenge), otherwise login; `audit_deny` → what the policy decided (deny or step_up,
 *   told by the reason) with `auditOnly`; `error` for a target refused before any route
 *   (`bad_target:*`, `bad_host`) → deny `deny:bad_request`, any other error → error.
 * - a serve reason without prefix (`no_route`) gets explain's `deny:` prefix; explain's
 *   `deny:unauthenticated` is serve's login challenge (`login`, `unauthenticated`).
 * - `auditOnly`: the route is in audit mode and the request is let through although the policy
 *   did not allow it (serve: `audit_deny`; explain: "logged as audit_deny and let through").
 *
 * Nothing else is folded: in particular an upgrade whose audit line says `deny` with a
 * `step_up:*` reason is a deny, not a step-up (the user is refused, not asked to sign in again,
 * and `ztna_policy_denials_total` counts it), so it disagrees with HTTP's `login`.
 */
interface Answer {
  readonly effect: 'allow' | 'deny' | 'step_up' | 'login' | 'error';
  readonly reason: string;
  readonly auditOnly: boolean;
}

function answerOfAuditLine(line: AuditLine): Answer {
  const reason = typeof line.reason === 'string' ? line.reason : String(line.reason);
  const prefixed = reason === 'no_route' ? 'deny:no_route' : reason;
  switch (line.decision) {
    case 'allow':
    case 'public':
      return { effect: 'allow', reason, auditOnly: false };
    case 'deny':
      return { effect: 'deny', reason: prefixed, auditOnly: false };
    case 'audit_deny':
      return {
        effect: reason.startsWith('step_up:') ? 'step_up' : 'deny',
        reason,
        auditOnly: true,
      };
    case 'login':
      return reason.startsWith('step_up:')
        ? { effect: 'step_up', reason, auditOnly: false }
        : { effect: 'login', reason, auditOnly: false };
    case 'error':
      return /^(bad_target:|bad_host$)/.test(reason)
        ? { effect: 'deny', reason: 'deny:bad_request', auditOnly: false }
        : { effect: 'error', reason, auditOnly: false };
    default:
      return {
        effect: 'error',
        reason: `audit decision ${String(line.decision)}`,
        auditOnly: false,
      };
  }
}

/** `decision  deny (deny:posture.os, by allow[0]) — route in audit mode: …` (describe-simulation.ts). */
const DECISION_LINE =
  /^decision\s+(allow|deny|step_up) \(([^,)]+)(?:, by [^)]*)?\)(\s+— route in audit mode.*)?$/;

function answerOfExplain(output: readonly string[]): Answer {
  const line = output.find((l) => l.startsWith('decision'));
  const match = line === undefined ? null : DECISION_LINE.exec(line);
  if (match === null)
    return { effect: 'error', reason: `no decision: ${output.join(' | ')}`, auditOnly: false };
  const [, effect, reason, audit] = match as unknown as [string, Answer['effect'], string, string?];
  // A sign-in, however explain words it: no session, or one that left its device (SPEC §6).
  const signIn = /^deny:(unauthenticated|device_missing|device_changed)$/.exec(reason);
  if (signIn !== null) return { effect: 'login', reason: signIn[1]!, auditOnly: false };
  return { effect, reason, auditOnly: audit !== undefined };
}

const show = (a: Answer | undefined) =>
  a === undefined ? '(not run)' : `${a.effect} ${a.reason}${a.auditOnly ? ' [audit only]' : ''}`;

// ---------------------------------------------------------------------------------------------
// Set-up: the stack, a posture issuer, and every person signed in once.
// ---------------------------------------------------------------------------------------------

/** A signed-in person: their browser, and the identity the IdP gave the gateway for them. */
interface Member {
  readonly username: Username;
  /** The browser: its cookie jar holds the session (domain .corp.test). */
  readonly client: TestClient;
  readonly email: string;
  readonly groups: readonly string[] | undefined;
  readonly name: string;
  readonly amr: readonly string[];
  /** The IdP's `auth_time`, in epoch seconds. */
  readonly authTime: number;
  readonly device: string | undefined;
}

/**
 * A browser that notes when the IdP resumed its sign-in (`GET /auth/<uid>`): oidc-provider
 * stamps `auth_time` there, so the stamp lies between the request's start and end.
 */
class TimedClient extends TestClient {
  resumed: [number, number] | undefined;

  override async request(url: string, options: RequestOptions = {}): Promise<Reply> {
    const resume = /^\/auth\/[\w-]+$/.test(new URL(url).pathname);
    const started = Date.now();
    const reply = await super.request(url, options);
    if (resume) this.resumed = [started, Date.now()];
    return reply;
  }
}

let stack: Stack;
let mdm: PostureIssuer;
let dir: string;
let gatewayYaml: string;
/** The gateway's clock (DESIGN §6): real time while signing in, then set per request. */
let frozenAt: number | undefined;
/**
 * The earliest instant a generated request may be at: ten minutes after the sign-ins, well past
 * the two minutes in which serve refuses a step-up outright instead of asking again, because
 * the session has just made one (`recentlySteppedUp`: session state that explain cannot know).
 */
let epoch: number;
const members = new Map<Username, Member>();

/**
 * Signs a person in, with their laptop's posture, so the session is bound to that device at
 * login (SPEC §6). The sign-in asks the IdP for `max_age`, as a step-up does: the embedded IdP
 * (oidc-provider) puts `auth_time` in the ID token only when asked, and `explain` cannot
 * describe an identity without one (`--auth-age` defaults to "just now"). Without it every
 * `auth_max_age` rule fails closed in serve and passes in explain.
 */
async function signIn(username: Username): Promise<Member> {
  const { idp: user, withOtp, device } = PEOPLE[username];
  frozenAt = undefined;
  // auth_time has a resolution of one second; retry until the resume request did not straddle
  // a second boundary, so that `explain --auth-age` can be exact.
  for (let attempt = 0; attempt < 8; attempt++) {
    const client = new TimedClient();
    if (device !== undefined)
      client.defaultHeaders = { 'x-device-posture': await mdm.mint(COMPLIANT, { sub: device }) };
    const landed = await stack.login(
      client,
      username,
      stack.url(LOGIN_HOST, '/.ztna/login?rd=%2F.ztna%2Fme&step_up=1&max_age=86400'),
      withOtp ? { otp: user.otp } : {},
    );
    client.defaultHeaders = {};
    if (landed.status !== 200) throw new Error(`${username} could not sign in: ${landed.status}`);
    const [from, to] = client.resumed ?? [0, Infinity];
    if (Math.floor(from / 1000) !== Math.floor(to / 1000)) continue;
    return {
      username,
      client,
      email: user.email,
      groups: user.groups,
      name: user.name,
      // What the embedded IdP records: a correct one-time code is the second factor.
      amr: withOtp ? ['pwd', 'otp'] : ['pwd'],
      authTime: Math.floor(from / 1000),
      device,
    };
  }
  throw new Error(`${username}: every sign-in straddled a second boundary`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ztna-differential-'));
  mdm = await createPostureIssuer('https://mdm.test');
  await mdm.writeJwks(join(dir, 'mdm-jwks.json'));
  stack = await startStack({
    users: Object.values(PEOPLE).map((p) => p.idp),
    routes: ROUTES,
    now: () => frozenAt ?? Date.now(),
    // Access tokens outlive every generated instant: no refresh happens in the property (the
    // refresh case below moves the clock past it on purpose).
    idp: { accessTokenTtlSeconds: 30 * 86_400 },
    sessionExtra: '  cookie_domain: .corp.test\n  max_age: 60d\n  idle_timeout: 60d',
    gatewayExtra: `trusted_proxies: [127.0.0.1/32]
posture:
  issuers:
    - issuer: https://mdm.test
      audience: ztna-gateway
      jwks_file: ${join(dir, 'mdm-jwks.json')}`,
  });
  gatewayYaml = join(dirname(stack.routesFile), 'gateway.yaml');
  for (const username of PROPERTY_USERS) members.set(username, await signIn(username));
  epoch = Date.now() + 10 * 60_000;
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await mdm?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// One request, three ways.
// ---------------------------------------------------------------------------------------------

/** What a device agent reports (SPEC §6), and whose email it names (`email` claim), if any. */
interface DeviceReport {
  readonly managed: boolean | undefined;
  readonly os: string | undefined;
  readonly os_version: string | undefined;
  readonly disk_encrypted: boolean | undefined;
  readonly edr_running: boolean | undefined;
  readonly firewall: boolean | undefined;
  /** How old the evidence is at the time of the request. */
  readonly ageMs: number;
  /** `own`: the signed-in person's address (in other letter case); `other`: someone else's. */
  readonly email: 'none' | 'own' | 'other';
}

/**
 * What comes with the request as device evidence: the device's signed report (`sent`), nothing
 * (`withheld`), an unsigned report (`refused`), plain `X-Device-*` headers naming the device
 * from a peer that is no trusted posture proxy (`untrusted_headers`), or a signed report from
 * another device (`other_device`).
 */
type Evidence = 'sent' | 'withheld' | 'refused' | 'untrusted_headers' | 'other_device';

interface Case {
  readonly method: string;
  /** The Host header, without port. */
  readonly host: string;
  /** The request target exactly as sent (not normalised by any client library). */
  readonly target: string;
  readonly user: Username | 'anonymous';
  /** Sent only when the person has a device agent (carol has none). */
  readonly report: DeviceReport;
  /** How the report travels; `sent` when not said. */
  readonly evidence?: Evidence;
  readonly ip: string;
  /** Milliseconds after `epoch`. */
  readonly offsetMs: number;
  /** Just-in-time grants issued to the person in the session store before the request. */
  readonly grants?: readonly HeldGrant[];
}

const GRANT_NAMES = ['wiki-admin', 'finance-read'] as const;

/**
 * A grant as an approval puts it in the store (SPEC §13), expiring this long after the request:
 * zero or less has run out (judged per request: the sweep may not have removed it yet).
 */
interface HeldGrant {
  readonly grant: (typeof GRANT_NAMES)[number];
  readonly expiresInMs: number;
}

interface Outcome {
  readonly http: Answer;
  readonly ws: Answer | undefined;
  readonly explain: Answer;
  readonly explainOutput: readonly string[];
  readonly explainArgs: readonly string[];
}

let sequence = 0;

/** Sends one request to the gateway with exactly this target; an upgrade when `upgrade`. */
function exchange(
  method: string,
  target: string,
  headers: OutgoingHttpHeaders,
  upgrade: boolean,
): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port: stack.port,
      method,
      path: target,
      agent: false,
      headers: upgrade
        ? {
            ...headers,
            connection: 'Upgrade',
            upgrade: 'websocket',
            'sec-websocket-version': '13',
            'sec-websocket-key': randomBytes(16).toString('base64'),
          }
        : headers,
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(-1));
    req.end();
  });
}

/** The other person a posture report may name (the "user mismatch" case). */
function someoneElse(member: Member): string {
  return member.username === 'bob' ? 'alice@corp.test' : 'bob@corp.test';
}

/**
 * The device evidence of a request: its headers for the gateway, and for explain the file
 * describing what the gateway would believe (none when the evidence would be refused).
 */
async function deviceEvidence(
  c: Case,
  member: Member | undefined,
  at: number,
): Promise<{ headers: OutgoingHttpHeaders; file: string | undefined }> {
  const device = member === undefined ? ANONYMOUS_DEVICE : member.device;
  const evidence = c.evidence ?? 'sent';
  if (device === undefined || evidence === 'withheld') return { headers: {}, file: undefined };
  const { ageMs, email: whose, ...facts } = c.report;
  if (evidence === 'untrusted_headers')
    return {
      headers: {
        'x-device-id': device,
        'x-device-managed': String(facts.managed ?? true),
        'x-device-os': facts.os ?? 'macos',
        'x-device-disk-encrypted': String(facts.disk_encrypted ?? true),
      },
      file: undefined,
    };
  // iat is in whole seconds: the age explain is told is the age the gateway computes.
  const issuedAt = Math.floor((at - ageMs) / 1000);
  const email =
    member === undefined || whose === 'none'
      ? undefined
      : whose === 'own'
        ? member.email.toUpperCase()
        : someoneElse(member);
  const reported = Object.fromEntries(
    Object.entries({ ...facts, email }).filter(([, v]) => v !== undefined),
  );
  const claims = { ...reported, iat: issuedAt, exp: Math.floor(at / 1000) + 600 };
  if (evidence === 'refused')
    return { headers: { 'x-device-posture': mdm.unsigned(claims) }, file: undefined };
  const deviceId = evidence === 'other_device' ? `${device}-clone` : device;
  const header = await mdm.mint(claims, { sub: deviceId });
  const file = join(dir, 'posture.json');
  await writeFile(
    file,
    JSON.stringify({ device_id: deviceId, ...reported, age: `${at - issuedAt * 1000}ms` }),
  );
  return { headers: { 'x-device-posture': header }, file };
}

/**
 * serve ended the person's session (SPEC §6: it left its device): they sign in again, on
 * their device, so that the next leg or case finds a session bound to it, as explain assumes.
 */
async function signInAgainIfEnded(answer: Answer, member: Member | undefined, at: number) {
  if (member === undefined || !/^device_(missing|changed)$/.test(answer.reason)) return member;
  const renewed = await signIn(member.username);
  members.set(member.username, renewed);
  frozenAt = at;
  return renewed;
}

/** `explain` in-process, with a capturing io (src/cli/io.ts). */
async function explain(args: readonly string[]): Promise<string[]> {
  const output: string[] = [];
  const io: CliIo = {
    stdout: (line) => output.push(line),
    stderr: (line) => output.push(line),
    env: {},
  };
  try {
    await runExplain(args, io);
  } catch (error) {
    output.push(`threw: ${(error as Error).message}`);
  }
  return output;
}

/** Runs one case three ways (the upgrade for GET only) and returns the normalised answers. */
async function runCase(c: Case): Promise<Outcome> {
  const at = epoch + c.offsetMs;
  frozenAt = at;
  let member = c.user === 'anonymous' ? undefined : members.get(c.user)!;
  const evidence = await deviceEvidence(c, member, at);
  const authority = `${c.host}:${stack.port}`;
  // The session cookie (domain .corp.test) goes with every request of the person, whatever
  // spelling of the host they typed.
  const headersOf = async (who: Member | undefined): Promise<OutgoingHttpHeaders> => {
    const cookie =
      who === undefined
        ? undefined
        : await who.client.jar.getCookieString(stack.url(LOGIN_HOST, '/'));
    return {
      host: authority,
      accept: 'application/json',
      'x-forwarded-for': c.ip,
      ...(cookie ? { cookie } : {}),
      ...evidence.headers,
    };
  };
  const id = `differential-${++sequence}`;
  const running = await issueGrants(c, member, at, id);

  const httpHeaders = await headersOf(member);
  await exchange(c.method, c.target, { ...httpHeaders, 'x-request-id': `${id}-http` }, false);
  const http = answerOfAuditLine(await stack.auditLine(decisionOf(`${id}-http`)));
  member = await signInAgainIfEnded(http, member, at);
  let ws: Answer | undefined;
  if (c.method === 'GET') {
    const wsHeaders = await headersOf(member);
    await exchange('GET', c.target, { ...wsHeaders, 'x-request-id': `${id}-ws` }, true);
    ws = answerOfAuditLine(await stack.auditLine(decisionOf(`${id}-ws`)));
    member = await signInAgainIfEnded(ws, member, at);
  }

  const explainArgs = [
    ...['--routes', stack.routesFile, '--config', gatewayYaml],
    ...['--url', `http://${authority}${c.target}`, '--method', c.method, '--ip', c.ip],
    ...['--at', new Date(at).toISOString()],
    ...(evidence.file === undefined ? [] : ['--posture', evidence.file]),
    ...(member === undefined ? [] : identityArgs(member, at)),
    // Signed in on their device: the session is bound to it (SPEC §6).
    ...(member?.device === undefined ? [] : ['--session-device', member.device]),
    // The grants still running at the request's time, as explain is told them.
    ...(member === undefined ? [] : running.flatMap((grant) => ['--grant', grant])),
  ];
  const explainOutput = await explain(explainArgs);
  return { http, ws, explain: answerOfExplain(explainOutput), explainOutput, explainArgs };
}

/** The request's decision line: not the `jit: used` line a grant's first use writes. */
function decisionOf(requestId: string) {
  return (line: AuditLine) => line.request_id === requestId && line.jit === undefined;
}

/**
 * Puts the case's grants in the gateway's store, after removing whatever the person held from
 * earlier cases; returns the names of those running at `at` (what explain is told).
 */
async function issueGrants(
  c: Case,
  member: Member | undefined,
  at: number,
  id: string,
): Promise<string[]> {
  if (member === undefined) return [];
  const user = { sub: PEOPLE[member.username].idp.sub, email: member.email.toLowerCase() };
  await stack.gateway.grants.revoke({ user });
  const grants = c.grants ?? [];
  for (const [k, held] of grants.entries())
    await stack.gateway.grants.issue({
      id: `${id}-grant-${k}`,
      grant: held.grant,
      user,
      grantedAt: at - HOUR,
      expiresAt: at + held.expiresInMs,
      grantedBy: 'dave@corp.test',
      reason: 'differential test',
    });
  return [...new Set(grants.filter((g) => g.expiresInMs > 0).map((g) => g.grant))];
}

/** The signed-in person as explain options: everything the gateway's session holds. */
function identityArgs(member: Member, at: number): string[] {
  // `--mfa` is explain's shorthand for amr [pwd, otp], exactly what the IdP records.
  const secondFactor = member.amr.includes('otp');
  return [
    ...['--user', member.email],
    ...(member.groups === undefined ? [] : ['--groups', member.groups.join(',')]),
    ...(secondFactor ? ['--mfa'] : []),
    ...['--auth-age', `${at - member.authTime * 1000}ms`],
    ...['--claim', `name=${member.name}`],
  ];
}

function describeCase(c: Case): string {
  const member = c.user === 'anonymous' ? undefined : members.get(c.user);
  const at = epoch + c.offsetMs;
  const { ageMs, email, ...facts } = c.report;
  const posture =
    member !== undefined && member.device === undefined
      ? 'none (no device agent)'
      : `${JSON.stringify(facts)} ${Math.round(ageMs / 1000)}s old${email === 'none' ? '' : `, email: ${email === 'own' ? 'own address' : someoneElse(member!)}`}, evidence ${c.evidence ?? 'sent'}`;
  const who =
    member === undefined
      ? 'anonymous'
      : `${member.username} (groups ${JSON.stringify(member.groups ?? null)}, amr [${member.amr.join(', ')}], signed in ${Math.round(at / 1000 - member.authTime)}s before)`;
  const grants = (c.grants ?? []).map((g) => `${g.grant} (expires in ${g.expiresInMs}ms)`);
  return [
    `${c.method} ${c.host} ${c.target}`,
    `  as      ${who}${grants.length === 0 ? '' : `, holding ${grants.join(', ')}`}`,
    `  from    ${c.ip} at ${new Date(at).toISOString()}`,
    `  posture ${posture}`,
  ].join('\n');
}

function disagreement(c: Case, o: Outcome): string | undefined {
  const http = show(o.http);
  const agree = show(o.explain) === http && (o.ws === undefined || show(o.ws) === http);
  if (agree) return undefined;
  return [
    'the three legs disagree on',
    describeCase(c),
    `  http:    ${http}`,
    `  ws:      ${show(o.ws)}`,
    `  explain: ${show(o.explain)}`,
    `  explain ${o.explainArgs.join(' ')}`,
    ...o.explainOutput.map((l) => `    | ${l}`),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Generators.
// ---------------------------------------------------------------------------------------------

const HOSTS = [
  'wiki.corp.test',
  'finance.corp.test',
  'audit.corp.test',
  'status.corp.test',
  'x.apps.corp.test',
  'deep.x.apps.corp.test',
  'locked.corp.test',
  // No route: not the wildcard's own name, not a route host.
  'apps.corp.test',
  'intranet.corp.test',
  // Canonicalised to wiki.corp.test (SPEC §7: lower-cased, trailing dot dropped).
  'WIKI.Corp.Test',
  'finance.corp.test.',
] as const;

const PATHS = [
  '/',
  '/admin',
  '/admin/settings',
  '/admin/audit-log',
  '/admin/audit-log/2026',
  '/api',
  '/api/v1/pages',
  '/apis',
  '/reports',
  '/reports/payroll',
  '/reports/q4',
  '/public-docs/guide',
  '/static/app.js',
  '/ws',
] as const;

/** Spellings of a path that canonicalise to it (SPEC §7), and one that is refused (400). */
const SPELLINGS: Record<string, (path: string) => string> = {
  plain: (p) => p,
  dot: (p) => `/.${p}`,
  dotdot: (p) => `/junk/..${p}`,
  slashes: (p) => `/${p}`,
  params: (p) => (p === '/' ? p : `${p};v=1`),
  encoded: (p) => p.replace(/[a-z]/, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`),
  refused: (p) => `${p === '/' ? '' : p}/a%2Fb`,
  // Refused (400) unless the route allows double encoding (SPEC §7): status does.
  double: (p) => `${p === '/' ? '' : p}/..%252F`,
};

/** Where the rules are: each route, sub-rule and `paths` condition (the rest is noise). */
const PLACES: readonly (readonly [string, string])[] = [
  ['wiki.corp.test', '/'],
  ['wiki.corp.test', '/admin'],
  ['wiki.corp.test', '/admin/settings'],
  ['wiki.corp.test', '/admin/audit-log/2026'],
  ['wiki.corp.test', '/public-docs/guide'],
  ['wiki.corp.test', '/api/v1/pages'],
  ['finance.corp.test', '/'],
  ['finance.corp.test', '/reports/q4'],
  ['finance.corp.test', '/reports/payroll'],
  ['audit.corp.test', '/'],
  ['status.corp.test', '/'],
  ['x.apps.corp.test', '/'],
  ['deep.x.apps.corp.test', '/static/app.js'],
  ['locked.corp.test', '/'],
];

const placeArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...PLACES) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...HOSTS), fc.constantFrom(...PATHS)) },
);

const spellingArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant('plain') },
  { weight: 5, arbitrary: fc.constantFrom('dot', 'dotdot', 'slashes', 'params', 'encoded') },
  { weight: 1, arbitrary: fc.constantFrom('refused', 'double') },
);

/** Mostly true: compliant devices are the common case, and allow rules need them. */
const mostlyTrue = fc.constantFrom<boolean | undefined>(true, true, true, false, undefined);

const reportArb: fc.Arbitrary<DeviceReport> = fc.record({
  managed: mostlyTrue,
  os: fc.constantFrom('macos', 'macos', 'windows', 'linux', 'ios', undefined),
  os_version: fc.constantFrom(
    '14.3',
    '14.4',
    '14.5',
    '10.0.19044',
    '10.0.19045',
    '10.0.22631',
    '6.0',
    '6.1',
    '17.5',
    undefined,
  ),
  disk_encrypted: mostlyTrue,
  edr_running: mostlyTrue,
  firewall: mostlyTrue,
  // Around the profiles' limits: 5m inline, 15m baseline.
  ageMs: fc.oneof(
    fc.integer({ min: 0, max: 6 * 60_000 }),
    fc.integer({ min: 0, max: 40 * 60_000 }),
  ),
  email: fc.constantFrom<DeviceReport['email']>('none', 'none', 'none', 'none', 'own', 'other'),
});

const HOUR = 3_600_000;

/** A compliant laptop, reporting a minute ago. */
const COMPLIANT_REPORT: DeviceReport = { ...COMPLIANT, os: 'macos', ageMs: 60_000, email: 'none' };

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    method: fc.constantFrom('GET', 'GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'),
    place: placeArb,
    spelling: spellingArb,
    query: fc.constantFrom('', '', '', '?q=1', '?next=/admin'),
    user: fc.constantFrom<Case['user']>(...PROPERTY_USERS, 'alice', 'anonymous'),
    report: reportArb,
    // Mostly the device's own report: each other kind ends a bound session (a new sign-in).
    evidence: fc.oneof(
      { weight: 24, arbitrary: fc.constant<Evidence>('sent') },
      {
        weight: 4,
        arbitrary: fc.constantFrom<Evidence>(
          'withheld',
          'refused',
          'untrusted_headers',
          'other_device',
        ),
      },
    ),
    ip: fc.constantFrom(
      '10.1.2.3',
      '10.200.0.9',
      '192.168.4.5',
      '198.51.100.7',
      '203.0.113.77',
      '::ffff:10.9.8.7',
      '2001:db8:bad::1',
      '2001:db8:1::5',
      // As proxies also write them: with a port, mapped in other spellings, or no address at
      // all (the client is unknown: no ip allow rule admits it, every ip deny rule refuses it).
      '10.1.2.3:5555',
      '[2001:db8:bad::1]:443',
      '::FFFF:203.0.113.77',
      '::ffff:a09:807',
      'unknown',
    ),
    // Around the auth_max_age limits (1h, 2h) often; across a whole week for the time windows.
    offsetMs: fc.oneof(
      fc.integer({ min: 0, max: 3 * HOUR }),
      fc.integer({ min: 0, max: 8 * 24 * HOUR }),
    ),
    // Mostly none; else running, run out a minute ago, or ending at the very instant.
    grants: fc.oneof(
      { weight: 3, arbitrary: fc.constant<HeldGrant[]>([]) },
      {
        weight: 2,
        arbitrary: fc.array(
          fc.record({
            grant: fc.constantFrom(...GRANT_NAMES),
            expiresInMs: fc.constantFrom(4 * HOUR, 4 * HOUR, 1, 0, -60_000),
          }),
          { minLength: 1, maxLength: 2 },
        ),
      },
    ),
  })
  .map(({ place: [host, path], spelling, query, ...rest }) => ({
    ...rest,
    host,
    target: `${SPELLINGS[spelling]!(path)}${query}`,
  }));

/**
 * Requests the property always starts with: answers the generator reaches only now and then
 * (a step-up for an old sign-in needs the right person, route, method and device at once).
 */
const EXAMPLES: readonly Case[] = (
  [
    ['POST', 'wiki.corp.test', '/admin/settings', 'alice', '10.1.2.3', 90 * 60_000],
    ['GET', 'finance.corp.test', '/', 'alice', '10.1.2.3', 150 * 60_000],
    ['GET', 'finance.corp.test', '/', 'alice', '10.1.2.3', 30 * 60_000],
    ['GET', 'wiki.corp.test', '/api/v1/pages', 'bob', '10.1.2.3', 30 * 60_000],
    ['GET', 'audit.corp.test', '/', 'dave', '10.1.2.3', 30 * 60_000],
    ['GET', 'audit.corp.test', '/', 'bob', '10.1.2.3', 30 * 60_000],
    ['GET', 'wiki.corp.test', '/', 'bob', '203.0.113.77', 30 * 60_000],
    ['DELETE', 'x.apps.corp.test', '/', 'alice', '10.1.2.3', 30 * 60_000],
    ['GET', 'wiki.corp.test', '/', 'bob', '10.1.2.3', 30 * 60_000, 'withheld'],
    ['POST', 'finance.corp.test', '/', 'dave', '10.1.2.3', 30 * 60_000, 'other_device'],
  ] as const
)
  .map(([method, host, target, user, ip, offsetMs, evidence]): Case => ({
    method,
    host,
    target,
    user,
    ip,
    offsetMs,
    report: { ...COMPLIANT_REPORT, os: 'windows', os_version: '10.0.19045' },
    ...(evidence !== undefined && { evidence }),
  }))
  .concat(
    // Just-in-time grants (SPEC §13): one that lets in, one that needs MFA as well, one that has
    // just run out, one that a deny rule overrides.
    (
      [
        ['POST', 'wiki.corp.test', '/admin/settings', 'erin', 'wiki-admin', 4 * HOUR],
        ['POST', 'wiki.corp.test', '/admin/settings', 'bob', 'wiki-admin', 4 * HOUR],
        ['GET', 'finance.corp.test', '/reports/q4', 'bob', 'finance-read', 4 * HOUR],
        ['GET', 'finance.corp.test', '/reports/q4', 'bob', 'finance-read', 0],
        ['GET', 'finance.corp.test', '/', 'erin', 'finance-read', 4 * HOUR],
      ] as const
    ).map(([method, host, target, user, grant, expiresInMs]) => ({
      method,
      host,
      target,
      user,
      ip: '198.51.100.7',
      offsetMs: 30 * 60_000,
      report: { ...COMPLIANT_REPORT, os: 'windows', os_version: '10.0.19045' },
      grants: [{ grant, expiresInMs }],
    })),
  )
  .concat(
    // A device failing one fact of the baseline profile each: the posture reasons are reached
    // in every run, not only when the random reports happen to fail them.
    (
      [
        { disk_encrypted: false },
        { edr_running: false },
        { managed: false },
        { os_version: '14.3' },
        { ageMs: 20 * 60_000 },
      ] as const
    ).map((failing) => ({
      method: 'GET',
      host: 'wiki.corp.test',
      target: '/',
      user: 'alice',
      ip: '10.1.2.3',
      offsetMs: 30 * 60_000,
      report: { ...COMPLIANT_REPORT, ...failing },
    })),
  );

// ---------------------------------------------------------------------------------------------
// The property.
// ---------------------------------------------------------------------------------------------

/** FC_SEED / FC_PATH replay a reported counterexample; FC_RUNS asks for a longer run. */
const RUNS = Number(process.env.FC_RUNS ?? 150);
/** About 30 ms a request on 2 cores; shrinking replays requests, so bound the whole run. */
const BUDGET_MS = Math.max(40_000, RUNS * 250);
const replay = {
  ...(process.env.FC_SEED !== undefined && { seed: Number(process.env.FC_SEED) }),
  ...(process.env.FC_PATH !== undefined && { path: process.env.FC_PATH }),
};

describe('serve (HTTP and WebSocket) and explain decide alike', () => {
  test(
    'on generated requests: same decision and reason three ways',
    async () => {
      const reached = new Set<string>();
      await fc.assert(
        fc.asyncProperty(caseArb, async (c) => {
          const outcome = await runCase(c);
          const problem = disagreement(c, outcome);
          if (problem !== undefined) throw new Error(problem);
          reached.add(
            `${outcome.http.effect}${outcome.http.auditOnly ? ' audit' : ''} ${outcome.http.reason.replace(/\[\d+\]/, '[n]')}`,
          );
          if (outcome.explainOutput.some((l) => l.startsWith('grants    allowed by grant')))
            reached.add('allow by a grant');
        }),
        {
          numRuns: RUNS,
          interruptAfterTimeLimit: BUDGET_MS,
          markInterruptAsFailure: true,
          examples: EXAMPLES.map((c) => [c] as [Case]),
          ...replay,
        },
      );
      // The generator must keep reaching every kind of answer, or the property proves little.
      expect([...reached].sort()).toEqual(
        expect.arrayContaining([
          'allow allow:public',
          'allow allow:rule[n]',
          'deny deny:bad_request',
          'deny deny:ip',
          'deny deny:no_policy',
          'deny deny:no_route',
          'deny deny:no_rule_matched',
          'deny audit deny:no_rule_matched',
          'login unauthenticated',
          'login device_missing',
          'login device_changed',
          'step_up step_up:mfa',
          'step_up step_up:auth_max_age',
          'allow by a grant',
        ]),
      );
      expect([...reached].filter((r) => r.includes('deny:posture.')).length).toBeGreaterThan(3);
    },
    BUDGET_MS + 20_000,
  );
});

// ---------------------------------------------------------------------------------------------
// One plain case per drift issue 10 names.
// ---------------------------------------------------------------------------------------------

/** A weekday, 10:00 in Berlin, after `epoch`: inside every time window of the routes. */
function officeHoursOffset(): number {
  let at = epoch + 30 * 60_000;
  const berlin = new Intl.DateTimeFormat('en-US', {
    timeZone: 'Europe/Berlin',
    weekday: 'short',
    hour: 'numeric',
    hourCycle: 'h23',
  });
  for (;;) {
    const parts = berlin.formatToParts(at);
    const day = parts.find((p) => p.type === 'weekday')!.value;
    const hour = Number(parts.find((p) => p.type === 'hour')!.value);
    if (!['Sat', 'Sun'].includes(day) && hour === 10) return at - epoch;
    at += 60 * 60_000;
  }
}

describe('the drifts of issue 10, one by one', () => {
  test('a signed posture naming another user: serve and explain both deny it as user_mismatch', async () => {
    const c: Case = {
      method: 'GET',
      host: 'wiki.corp.test',
      target: '/',
      user: 'alice',
      report: { ...COMPLIANT_REPORT, email: 'other' },
      ip: '10.1.2.3',
      offsetMs: officeHoursOffset(),
    };
    const o = await runCase(c);
    const expected: Answer = {
      effect: 'deny',
      reason: 'deny:posture.user_mismatch',
      auditOnly: false,
    };
    // All three named at once, so a failure shows which leg drifted.
    expect({ http: o.http, ws: o.ws, explain: o.explain }).toEqual({
      http: expected,
      ws: expected,
      explain: expected,
    });
  });

  // Denied GETs of every kind: the upgrade must be refused for the same reason, and recorded
  // as the same kind of answer, as the plain request.
  test.each<[string, Omit<Case, 'method' | 'offsetMs' | 'report'> & { report?: DeviceReport }]>([
    ['a policy denial', { host: 'finance.corp.test', target: '/', user: 'bob', ip: '10.1.2.3' }],
    [
      'a posture denial',
      {
        host: 'wiki.corp.test',
        target: '/',
        user: 'alice',
        ip: '10.1.2.3',
        report: { ...COMPLIANT_REPORT, disk_encrypted: false },
      },
    ],
    ['a deny rule', { host: 'wiki.corp.test', target: '/', user: 'alice', ip: '203.0.113.9' }],
    [
      'a step-up (MFA)',
      { host: 'wiki.corp.test', target: '/api/v1/pages', user: 'bob', ip: '10.1.2.3' },
    ],
    [
      'a route without policy',
      { host: 'locked.corp.test', target: '/', user: 'bob', ip: '10.1.2.3' },
    ],
    ['no session', { host: 'wiki.corp.test', target: '/', user: 'anonymous', ip: '10.1.2.3' }],
    [
      'a bound session without its device’s evidence',
      { host: 'wiki.corp.test', target: '/', user: 'alice', ip: '10.1.2.3', evidence: 'withheld' },
    ],
    [
      'a bound session with a refused report',
      { host: 'wiki.corp.test', target: '/', user: 'bob', ip: '10.1.2.3', evidence: 'refused' },
    ],
    ['no route', { host: 'intranet.corp.test', target: '/', user: 'bob', ip: '10.1.2.3' }],
    ['audit mode', { host: 'audit.corp.test', target: '/', user: 'bob', ip: '10.1.2.3' }],
  ])('a WebSocket upgrade and an HTTP GET give the same answer: %s', async (_name, request) => {
    const o = await runCase({
      method: 'GET',
      report: COMPLIANT_REPORT,
      offsetMs: officeHoursOffset(),
      ...request,
    });
    expect(o.http.effect).not.toBe('allow');
    expect({ ws: o.ws }).toEqual({ ws: o.http });
  });

  // Issue 12: refusals that need the route (double encoding), and client addresses a proxy
  // writes with a port, as mapped IPv6, or not at all. Three legs, one answer each.
  test.each<[string, Omit<Case, 'method' | 'offsetMs' | 'report'>, Answer]>([
    [
      'a double-encoded slash on a route that refuses it',
      { host: 'wiki.corp.test', target: '/public/..%252Fadmin', user: 'alice', ip: '10.1.2.3' },
      { effect: 'deny', reason: 'deny:bad_request', auditOnly: false },
    ],
    [
      'a double-encoded slash on a route that allows it',
      { host: 'status.corp.test', target: '/files/a%252fb', user: 'anonymous', ip: '10.1.2.3' },
      { effect: 'allow', reason: 'allow:public', auditOnly: false },
    ],
    [
      'an unknown client and an ip deny rule',
      { host: 'wiki.corp.test', target: '/', user: 'alice', ip: 'unknown' },
      { effect: 'deny', reason: 'deny:ip', auditOnly: false },
    ],
    [
      'a denied network as mapped IPv6',
      { host: 'wiki.corp.test', target: '/', user: 'alice', ip: '::ffff:cb00:714d' },
      { effect: 'deny', reason: 'deny:ip', auditOnly: false },
    ],
    [
      'an allowed network with a port',
      { host: 'finance.corp.test', target: '/reports/q4', user: 'bob', ip: '10.1.2.3:5555' },
      { effect: 'allow', reason: 'allow:rule[1]', auditOnly: false },
    ],
  ])('serve (HTTP and WebSocket) and explain agree: %s', async (_name, request, expected) => {
    const o = await runCase({
      method: 'GET',
      report: COMPLIANT_REPORT,
      offsetMs: officeHoursOffset(),
      ...request,
    });
    expect({ http: o.http, ws: o.ws, explain: o.explain }).toEqual({
      http: expected,
      ws: expected,
      explain: expected,
    });
  });

  test('expired IdP tokens are refreshed on upgrades as on HTTP: a user disabled at the IdP is signed out on both', async () => {
    // Two sessions of one person, so that neither leg's refusal ends the other leg's session.
    const first = await signIn('grace');
    const second = await signIn('grace');
    stack.idp.disable('grace');
    // Past the access tokens' 30 days: each request must ask the IdP (and be refused).
    const at = Date.now() + 31 * 86_400_000;
    frozenAt = at;
    const report = await mdm.mint(
      { ...COMPLIANT, iat: Math.floor(at / 1000) - 60, exp: Math.floor(at / 1000) + 600 },
      { sub: 'laptop-grace' },
    );
    const headers = async (client: TestClient, id: string): Promise<OutgoingHttpHeaders> => ({
      host: `${LOGIN_HOST}:${stack.port}`,
      accept: 'application/json',
      cookie: await client.jar.getCookieString(stack.url(LOGIN_HOST, '/')),
      'x-device-posture': report,
      'x-forwarded-for': '10.1.2.3',
      'x-request-id': id,
    });
    const id = `differential-refresh-${++sequence}`;
    await exchange('GET', '/', await headers(first.client, `${id}-ws`), true);
    await exchange('GET', '/', await headers(second.client, `${id}-http`), false);
    const ws = answerOfAuditLine(await stack.auditLine((l) => l.request_id === `${id}-ws`));
    const http = answerOfAuditLine(await stack.auditLine((l) => l.request_id === `${id}-http`));
    expect(http).toEqual({ effect: 'login', reason: 'refresh_rejected', auditOnly: false });
    expect({ ws }).toEqual({ ws: http });
  });
});
