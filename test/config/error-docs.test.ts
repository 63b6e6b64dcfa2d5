import { readFileSync } from 'node:fs';
import { expect, test } from '@jest/globals';
import { ERROR_CODES } from '../../src/errors.js';

// DESIGN §3: every code in the registry is documented, with its status, and nothing else is.
test('docs/errors.md documents every error code with its status', () => {
  const doc = readFileSync('docs/errors.md', 'utf8');
  const documented = new Map(
    [...doc.matchAll(/^\| `(ZTNA_ERR_[A-Z_]+)`\s*\| (\d{3})\s*\|/gm)].map((m) => [
      m[1]!,
      Number(m[2]),
    ]),
  );
  const registry = new Map(Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status]));
  expect(documented).toEqual(registry);
});
