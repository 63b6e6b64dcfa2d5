/**
 * The one rule for free text people type about access (a request's reason, a rejection's note,
 * an admin's reason), shared by the access forms and the admin API: it ends up in pages, audit
 * lines and the rows `ztna-gateway grants list` prints to a terminal.
 */

/** Reasons and notes are for people to read, in a page and an audit line: a paragraph at most. */
export const MAX_REASON_LENGTH = 500;

/**
 * Characters a terminal or a log viewer acts on instead of showing: C0 controls (ESC starts
 * terminal escape sequences, CR and LF forge rows), DEL, C1 controls (0x9b is a one-byte CSI on
 * some terminals), the Unicode line and paragraph separators, and the bidirectional overrides
 * and isolates that reorder what a reader sees.
 */
function isControl(char: string): boolean {
  const code = char.codePointAt(0)!;
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x061c || // Arabic letter mark
    code === 0x200e || // left-to-right mark
    code === 0x200f || // right-to-left mark
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

export function hasControlCharacters(text: string): boolean {
  return [...text].some(isControl);
}

/** The text with each control character shown as U+FFFD, for printing what others wrote. */
export function withoutControlCharacters(text: string): string {
  return [...text].map((char) => (isControl(char) ? '\uFFFD' : char)).join('');
}
