import { describe, expect, test } from '@jest/globals';
import { prefersJson } from './accept.js';

describe('prefersJson', () => {
  test.each<[string | undefined, boolean]>([
    [undefined, false],
    ['', false],
    ['*/*', false],
    ['text/html', false],
    ['application/json', true],
    ['application/json, text/plain, */*', true],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', false],
    ['text/html;q=0.5, application/json', true],
    ['text/html, application/json', false],
    ['application/*', true],
    ['text/*;q=0.1, application/json;q=0.2', true],
    ['application/json;q=0', false],
  ])('%s → %s', (accept, expected) => {
    expect(prefersJson(accept)).toBe(expected);
  });
});
