/**
 * `name` as V8 keeps a property key: internalized, like a string literal in the source.
 *
 * Header names made at start-up (lower-cased from the configuration) are computed keys on
 * every request's headers object. A key that is not internalized costs a lookup in V8's string
 * table on each use, unless V8 has replaced it with its internalized copy, which it did in some
 * gateway processes and not in others: the identity headers' three stores were then 2.5% of
 * the full check's CPU (npm run bench:ab; --cpu-prof). A key read back from an object is the
 * internalized one, except for names that look like array indexes (`123`), which V8 keeps as
 * numbers: those come back as the same text, not internalized, and cost what they did.
 */
export function asPropertyKey(name: string): string {
  return Object.keys({ [name]: true })[0]!;
}

/** A configured header name as the gateway writes it on requests: lower-cased, as a key. */
export function headerKey(name: string): string {
  return asPropertyKey(name.toLowerCase());
}
