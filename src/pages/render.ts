import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import { prefersJson } from '../lib/accept.js';
import { escapeHtml } from '../lib/html.js';

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:36rem;margin:10vh auto;background:#fff;padding:2rem 2.5rem;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.4rem;margin:0 0 1rem}p{margin:.6rem 0}code,.mono{font-family:ui-monospace,monospace;font-size:.9em}
.meta{color:#5b6475;font-size:.85rem;margin-top:1.5rem;border-top:1px solid #e3e6eb;padding-top:.8rem}
button,.button{font:inherit;background:#2f5bd3;color:#fff;border:0;border-radius:6px;padding:.5rem 1rem;cursor:pointer;text-decoration:none;display:inline-block}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eef0f3;vertical-align:top}
h2{font-size:1.1rem;margin:1.6rem 0 .6rem}label{display:block;font-weight:600;margin:.9rem 0 .3rem}
select,textarea,input[type=text]{font:inherit;width:100%;box-sizing:border-box;padding:.4rem .5rem;border:1px solid #6b7385;border-radius:6px;background:#fff;color:inherit}
form .actions{margin-top:1rem;display:flex;gap:.6rem}button.secondary{background:#fff;color:#1d2330;border:1px solid #6b7385}
.notice{background:#eef3ff;border-left:4px solid #2f5bd3;padding:.6rem .9rem;margin:1rem 0}.request{border:1px solid #e3e6eb;border-radius:6px;padding:.8rem 1rem;margin:.8rem 0}`;

// The one inline stylesheet is allowed by hash: no 'unsafe-inline' on gateway pages.
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/** HTML that is already safe to embed (built with `html` or escapeHtml). */
export interface SafeHtml {
  readonly __html: string;
}

/** Tagged template that escapes every interpolated value unless it is SafeHtml. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, i) => {
    const text = Array.isArray(value)
      ? value.map((v) => (isSafe(v) ? v.__html : escapeHtml(String(v)))).join('')
      : isSafe(value)
        ? value.__html
        : escapeHtml(String(value ?? ''));
    out += text + strings[i + 1]!;
  });
  return { __html: out };
}

function isSafe(value: unknown): value is SafeHtml {
  return typeof value === 'object' && value !== null && '__html' in value;
}

/** A whole gateway page. The request id is printed so people can quote it to support. */
export function renderPage(title: string, body: SafeHtml, requestId?: string): string {
  const meta =
    requestId === undefined
      ? ''
      : html`<p class="meta">Request id: <span class="mono">${requestId}</span></p>`.__html;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><main>${body.__html}${meta}</main></body></html>`;
}

/** A connect-style middleware on plain Node types (usable with and without express). */
export type Middleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void;

/**
 * Security headers for gateway pages only (never for proxied responses: a strict CSP would
 * break the internal apps). `form-action` must also allow the IdP's logout endpoint, because
 * the sign-out form's POST redirects there and CSP applies to that redirect.
 */
export function createPageSecurity(endSessionOrigin: () => string | undefined): Middleware {
  const headers = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: [STYLE_HASH],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'", () => endSessionOrigin() ?? "'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: false },
  }) as unknown as Middleware;
  return (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    headers(req, res, next);
  };
}

/** A gateway page: what `send` renders as HTML, or as JSON for clients that ask for JSON. */
export interface Page {
  readonly status: number;
  readonly title: string;
  readonly body: SafeHtml;
  /** The JSON answer for API clients; the request id is added by `send`. */
  readonly json: Readonly<Record<string, unknown>>;
}

/** Any request a page answers: express's or a raw Node request. */
export type PageRequest = IncomingMessage;

/**
 * Creates the one function that answers with a gateway page: security headers, no caching,
 * HTML or JSON by the client's Accept header (SPEC §2.7).
 */
export function createPageSender(security: Middleware) {
  return function sendPage(
    req: PageRequest,
    res: ServerResponse,
    page: Page,
    requestId: string,
  ): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    security(req, res, () => undefined);
    res.statusCode = page.status;
    if (prefersJson(req.headers.accept)) {
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(JSON.stringify({ ...page.json, request_id: requestId }));
      return;
    }
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(renderPage(page.title, page.body, requestId));
  };
}

export type PageSender = ReturnType<typeof createPageSender>;
