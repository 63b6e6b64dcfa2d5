/**
 * Minimal Cookie-header handling that never decodes or re-encodes values, so that cookies the
 * gateway passes on reach the upstream byte for byte.
 */

/** The raw value of the first cookie called `name`, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The raw values of every cookie called `name`, in order: a browser sends two of one name when
 * one was set for another Path or Domain (or planted by a sibling host).
 */
export function readCookies(header: string | undefined, name: string): string[] {
  if (header === undefined) return [];
  const values: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim());
  }
  return values;
}

/** Every cookie name in the header (for counting a client's pending logins). */
export function cookieNames(header: string | undefined): string[] {
  if (header === undefined) return [];
  return header
    .split(';')
    .map((part) => part.slice(0, Math.max(0, part.indexOf('='))).trim())
    .filter(Boolean);
}

/**
 * The header without the cookies `drop` selects; undefined when nothing is left.
 * A part without `=` is kept as is: it is not ours to judge.
 */
export function removeCookies(header: string, drop: (name: string) => boolean): string | undefined {
  const kept: string[] = [];
  for (const part of header.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    const name = eq === -1 ? trimmed : trimmed.slice(0, eq).trim();
    if (!drop(name)) kept.push(trimmed);
  }
  return kept.length === 0 ? undefined : kept.join('; ');
}
