import type { IncomingHttpHeaders } from 'node:http';

/**
 * The Fetch Metadata (`Sec-Fetch-*`) a browser sends when a person clicks a form's button on a
 * page of the same origin: a top-level navigation to a document, activated by the user.
 * Browsers never let a page's scripts set these headers: `fetch()` and XHR say `mode: cors` (or
 * `same-origin`) and `dest: empty`, a frame says `dest: iframe`, and a script's `form.submit()`
 * without a user gesture has no `Sec-Fetch-User`.
 *
 * Browsers send them to secure origins only (HTTPS, and `localhost`): over plain HTTP on any
 * other host the headers are absent, and such a form is refused like a script's.
 */
const CLICKED_SAME_ORIGIN_FORM = {
  'sec-fetch-site': 'same-origin',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
  'sec-fetch-user': '?1',
} as const;

/** Whether the request is a person's click on a same-origin form, as far as the browser says. */
export function isClickedSameOriginForm(headers: IncomingHttpHeaders): boolean {
  return Object.entries(CLICKED_SAME_ORIGIN_FORM).every(([name, value]) => headers[name] === value);
}
