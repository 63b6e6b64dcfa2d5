import { describe, expect, test } from '@jest/globals';
import { table } from './admin-api.js';

describe('table', () => {
  test('aligns columns under the header', () => {
    expect(
      table(
        ['ID', 'REASON'],
        [
          ['1', 'incident'],
          ['22', 'x'],
        ],
      ),
    ).toEqual(['ID  REASON', '1   incident', '22  x']);
  });

  test('a cell cannot drive the terminal or forge a row: control characters print as U+FFFD', () => {
    // Reasons and names come from people (and from data stored before the rule was shared):
    // defence in depth where they reach an operator's terminal.
    const lines = table(
      ['ID', 'REASON'],
      [
        ['1', 'x\u001b]0;owned\u0007\u001b[1A\u001b[2K'],
        ['2', 'ok\nf00d  admin  approved\rby\u009b alice'],
      ],
    );
    expect(lines).toHaveLength(3);
    const codes = [...lines.join('')].map((c) => c.codePointAt(0)!);
    expect(codes.filter((c) => c < 0x20 || (c >= 0x7f && c <= 0x9f))).toEqual([]);
    expect(lines[1]).toBe('1   x\uFFFD]0;owned\uFFFD\uFFFD[1A\uFFFD[2K');
    expect(lines[2]).toBe('2   ok\uFFFDf00d  admin  approved\uFFFDby\uFFFD alice');
  });
});
