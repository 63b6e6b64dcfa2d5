import { ERROR_CODES } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { html } from './render.js';
import type { Page, SafeHtml } from './render.js';

/** The page for an error code: the registry's title and sentence, and optional extra HTML. */
export function errorPage(code: ErrorCode, extra?: SafeHtml): Page {
  const { status, title, message } = ERROR_CODES[code];
  return {
    status,
    title,
    body: html`<h1>${title}</h1>
      <p>${message}</p>
      ${extra ?? ''}`,
    json: { error: code, message },
  };
}
