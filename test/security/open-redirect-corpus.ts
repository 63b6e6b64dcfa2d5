/**
 * Open-redirect payloads for `rd`, generated from the classes seen in public corpora (such as
 * oauth2-proxy's testdata/openredirects.txt, MIT) and in real bypasses: every way of writing
 * "another host" (protocol-relative, backslashes, tabs, userinfo, encoded separators, IP
 * spellings, look-alike characters) combined with every way of hiding it behind ours, plus
 * script and data URLs. `gateway` is our own authority (`site.test:8080`), so that payloads
 * like `https://site.test:8080@evil.example/` are real attempts against this gateway.
 */
function payloadClasses(gateway: string) {
  const evilHosts = [
    'evil.example',
    'evil.example:443',
    '203.0.113.7',
    '3405803783', // 203.0.113.7 as one decimal number
    '0xcb.0x0.0x71.0x7', // hex octets
    '0313.0.0161.07', // octal octets
    '[::ffff:203.0.113.7]',
    '[::ffff:cb00:7107]',
    'evil\u3002example', // ideographic full stop: a dot to URL parsers
    '\uff45vil.example', // fullwidth e
    'xn--vil-ula.example',
    'localhost',
  ];
  // Ours in front, theirs behind: userinfo, encoded @, query or fragment tricks, suffixes.
  const hiding = [
    `${gateway}@evil.example`,
    `${gateway}:443@evil.example`,
    `${gateway}%40evil.example`,
    `${gateway}%2540evil.example`,
    `${gateway}.evil.example`,
    `evil${gateway}`,
    `evil.example\\@${gateway}`,
    `evil.example%5c@${gateway}`,
    `evil.example?@${gateway}`,
    `evil.example#@${gateway}`,
    `evil.example%23@${gateway}`,
    `evil.example%3F.${gateway}`,
    `evil.example%2F${gateway}`,
    `evil.example\t${gateway}`,
    `evil.example%09${gateway}`,
    `${gateway}+&@evil.example#+@${gateway}`,
    `:@evil.example\\@${gateway}`,
    `user:pass@evil.example`,
    `${gateway}%00.evil.example`,
  ];
  const prefixes = [
    '',
    '/',
    '//',
    '///',
    '////',
    '\\\\',
    '/\\',
    '\\/',
    '/\\/',
    '/%09/',
    '//%09/',
    '/%2f',
    '/%2f%2f',
    '%2f%2f',
    '/%5c',
    '//%5c',
    '/%5c%5c',
    '/.//',
    '/./\\',
    'http://',
    'https://',
    'https:',
    'https:/',
    'https:///',
    'https:\\\\',
    'https:/\\',
    'HTTPS://',
    'hTtPs://',
    '/https://',
    '//https://',
    'https://%09/',
    ' https://',
    '\thttps://',
    '\nhttps://',
    'https:%2f%2f',
    'ftp://',
    '\u3031',
    '\u309d',
    '\uff70',
    '@',
    '<>//',
    '.',
  ];
  const schemes = [
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    ' javascript:alert(1)',
    'java\tscript:alert(1)',
    'java%0ascript:alert(1)',
    'javascript://%0aalert(1)',
    `javascript://${gateway}/%0aalert(1)`,
    `javascript://${gateway}?%a0alert(1)`,
    '%6a%61%76%61%73%63%72%69%70%74%3aalert(1)',
    '\\152\\141\\166\\141\\163\\143\\162\\151\\160\\164\\072alert(1)',
    'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
    'vbscript:msgbox(1)',
    'file:///etc/passwd',
    `blob:https://${gateway}/x`,
  ];
  return { evilHosts, hiding, prefixes, schemes };
}

const SUFFIXES = ['', '/', '//', '/%2f..', '/%2e%2e%2f', '?next=/', '#/'];

/** Every prefix × every host trick × every suffix, plus script URLs, raw and percent-encoded. */
export function openRedirectCorpus(gateway: string): string[] {
  const { evilHosts, hiding, prefixes, schemes } = payloadClasses(gateway);
  const payloads = new Set<string>(schemes);
  for (const prefix of prefixes) {
    for (const host of [...evilHosts, ...hiding]) {
      for (const suffix of SUFFIXES) payloads.add(`${prefix}${host}${suffix}`);
    }
  }
  // Each payload once more, percent-encoded: catches a validator that decodes after checking.
  for (const payload of [...payloads]) payloads.add(encodeURIComponent(payload));
  return [...payloads];
}

/**
 * Every class once, for the whole login against the real IdP (a few round trips each): each
 * prefix with our host as userinfo, each hiding trick behind `https://`, each other host
 * behind `//`, every script URL, and some of them percent-encoded.
 */
export function openRedirectSample(gateway: string): string[] {
  const { evilHosts, hiding, prefixes, schemes } = payloadClasses(gateway);
  const sample = new Set<string>([
    ...prefixes.map((prefix) => `${prefix}${gateway}@evil.example/`),
    ...hiding.map((host) => `https://${host}/`),
    ...evilHosts.map((host) => `//${host}/`),
    ...schemes,
  ]);
  for (const payload of [...sample].slice(0, 60).filter((_, i) => i % 6 === 0))
    sample.add(encodeURIComponent(payload));
  return [...sample];
}
