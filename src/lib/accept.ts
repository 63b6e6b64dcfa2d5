interface Match {
  readonly quality: number;
  /** 2 for `type/subtype`, 1 for `type/*`, 0 for `*\/*`. */
  readonly specificity: number;
  /** Position of the range in the header: earlier wins a tie. */
  readonly order: number;
}

const NO_MATCH: Match = { quality: 0, specificity: -1, order: Number.POSITIVE_INFINITY };

/** The most specific range of an Accept header that covers `type/subtype`. */
function matchFor(ranges: readonly string[], type: string, subtype: string): Match {
  let best = NO_MATCH;
  ranges.forEach((range, order) => {
    const [media = '', ...params] = range.split(';');
    const [t, s] = media.trim().toLowerCase().split('/');
    const specificity =
      t === type && s === subtype
        ? 2
        : t === type && s === '*'
          ? 1
          : t === '*' && s === '*'
            ? 0
            : -1;
    if (specificity <= best.specificity) return;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    best = { quality: q === undefined ? 1 : Number(q.slice(2)) || 0, specificity, order };
  });
  return best;
}

/**
 * Whether the client prefers JSON over HTML (RFC 9110 §12.5.1), as express's
 * `req.accepts(['html', 'json']) === 'json'` says: higher quality wins, then the more specific
 * range, then the one listed first; HTML wins what is left and absent headers.
 */
export function prefersJson(accept: string | undefined): boolean {
  if (accept === undefined || accept === '') return false;
  const ranges = accept.split(',');
  const json = matchFor(ranges, 'application', 'json');
  const html = matchFor(ranges, 'text', 'html');
  if (json.quality === 0 || json.quality !== html.quality) return json.quality > html.quality;
  if (json.specificity !== html.specificity) return json.specificity > html.specificity;
  return json.order < html.order;
}
