import type { z } from 'zod';
import { suggestClosest } from '../lib/did-you-mean.js';
import type { ConfigIssue } from './issues.js';
import { knownKeysOf } from './schema-helpers.js';
import type { YamlSource } from './yaml-source.js';

type Path = readonly PropertyKey[];

/** Names the thing an issue is about: `route "wiki"` rather than `routes[0]`. */
export type SubjectNamer = (path: Path, data: unknown) => { subject?: string; rest: Path };

/** Example snippets shown as hints, keyed by the field the issue is about. */
export type HintTable = Readonly<Record<string, string>>;

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping of keys to values',
};

// Keys whose values may be secrets pasted in the wrong place: their values are never echoed.
const SECRET_KEY = /secret|password|token|key/i;

/** Describes a received value in an admin's words: "a string", "a list", "nothing". */
function describeValue(value: unknown, key?: string): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (key !== undefined && SECRET_KEY.test(key)) return `a ${typeof value} (value not shown)`;
  if (typeof value === 'string') {
    return `a string ("${value.length > 40 ? value.slice(0, 40) + '…' : value}")`;
  }
  if (typeof value === 'boolean') return String(value);
  return `${typeof value === 'number' ? 'a number' : typeof value} (${String(value)})`;
}

/** `policy.allow[0].groups` */
export function formatPath(path: Path): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

function lastKey(path: Path): string | undefined {
  for (let i = path.length - 1; i >= 0; i--) {
    const segment = path[i];
    if (typeof segment === 'string') return segment;
  }
  return undefined;
}

function prefixed(namer: SubjectNamer, data: unknown, path: Path, text: string): string {
  const { subject, rest } = namer(path, data);
  const field = formatPath(rest);
  const head = [subject && `${subject}:`, field].filter(Boolean).join(' ');
  return head === '' ? text : `${head} ${text}`;
}

/**
 * Translates zod issues into positioned config issues with a message naming the subject and
 * field, and a hint (an example, a "did you mean", or the allowed values).
 */
export function translateZodIssues(
  issues: readonly z.core.$ZodIssue[],
  source: YamlSource,
  namer: SubjectNamer,
  hints: HintTable,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const at = (path: Path, where: 'key' | 'value', message: string, hint?: string) => {
    const { line, col } = source.position(path, where);
    out.push({ file: source.file, line, col, severity: 'error', message, hint });
  };
  /** A required key is absent: said at the object that lacks it. */
  const missing = (path: Path, key: string, hint: string | undefined) => {
    const parent = path.slice(0, -1);
    const { subject, rest } = namer(parent, source.data);
    const where = formatPath(rest);
    const text = `missing required key "${key}"${where ? ` in ${where}` : ''}`;
    at(parent, 'value', subject ? `${subject}: ${text}` : text, hint);
  };
  for (const issue of issues) {
    const path = issue.path as Path;
    const key = lastKey(path);
    const exampleHint = key === undefined ? undefined : hints[key];
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = knownKeysOf(issue.input);
        for (const unknown of issue.keys) {
          const guess = suggestClosest(unknown, allowed);
          const hint = guess ? `did you mean "${guess}"?` : `allowed keys: ${allowed.join(', ')}`;
          const { subject, rest } = namer([...path, unknown], source.data);
          const where = formatPath(rest.slice(0, -1));
          const text = `unknown key "${unknown}"${where ? ` in ${where}` : ''}`;
          at([...path, unknown], 'key', subject ? `${subject}: ${text}` : text, hint);
        }
        break;
      }
      case 'invalid_type': {
        if (issue.input === undefined && key !== undefined) {
          missing(path, key, exampleHint);
        } else {
          const expected = issue.message.startsWith('must ')
            ? issue.message
            : `must be ${TYPE_WORDS[issue.expected] ?? issue.expected}`;
          const text = `${expected}, got ${describeValue(issue.input, key)}`;
          at(path, 'value', prefixed(namer, source.data, path, text), exampleHint);
        }
        break;
      }
      case 'invalid_value': {
        if (issue.input === undefined && key !== undefined) {
          missing(path, key, exampleHint);
          break;
        }
        const values = issue.values.map(String);
        const guess =
          typeof issue.input === 'string' ? suggestClosest(issue.input, values) : undefined;
        const expected = issue.message.startsWith('must ')
          ? issue.message
          : `must be one of ${values.join(', ')}`;
        const text = `${expected}, got ${describeValue(issue.input, key)}`;
        at(
          path,
          'value',
          prefixed(namer, source.data, path, text),
          guess ? `did you mean "${guess}"?` : exampleHint,
        );
        break;
      }
      case 'too_small':
      case 'too_big': {
        const text = issue.message.startsWith('must ')
          ? issue.message
          : describeBound(
              issue.code,
              issue.origin,
              Number(issue.code === 'too_small' ? issue.minimum : issue.maximum),
            );
        const shown = isPrimitive(issue.input)
          ? `${text}, got ${describeValue(issue.input, key)}`
          : text;
        at(path, 'value', prefixed(namer, source.data, path, shown), exampleHint);
        break;
      }
      default: {
        // Refinements of a single value (a duration, a URL) show what was given and an example;
        // findings about a whole object (duplicates, conflicts) stand on their message alone.
        const onValue = isPrimitive(issue.input);
        const saysInput = issue.code === 'custom' && issue.params?.saysInput === true;
        const base = issue.message.startsWith('must ')
          ? issue.message
          : `is invalid: ${issue.message}`;
        const text =
          onValue && !saysInput ? `${base}, got ${describeValue(issue.input, key)}` : base;
        at(
          path,
          'value',
          prefixed(namer, source.data, path, text),
          onValue ? exampleHint : undefined,
        );
      }
    }
  }
  return out;
}

function isPrimitive(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function describeBound(code: 'too_small' | 'too_big', origin: string, bound: number): string {
  if (origin === 'array') {
    return code === 'too_small'
      ? bound <= 1
        ? 'must not be empty'
        : `must have at least ${bound} entries`
      : `must have at most ${bound} entries`;
  }
  if (origin === 'string') {
    return code === 'too_small'
      ? bound <= 1
        ? 'must not be empty'
        : `must be at least ${bound} characters`
      : `must be at most ${bound} characters`;
  }
  return code === 'too_small' ? `must be at least ${bound}` : `must be at most ${bound}`;
}
