import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node } from 'yaml';
import type { ConfigIssue } from './issues.js';

/** A parsed YAML file that can point back at the line and column of any key or value. */
export interface YamlSource {
  readonly file: string;
  readonly data: unknown;
  /** Position of the value at `path`, or of its key when `at` is `key`; falls back to the parent. */
  position(path: readonly PropertyKey[], at?: 'key' | 'value'): { line: number; col: number };
}

export type ParseResult =
  | { readonly ok: true; readonly source: YamlSource }
  | { readonly ok: false; readonly issues: ConfigIssue[] };

/**
 * Parses YAML text with positions. Syntax errors (including duplicate keys, which YAML forbids
 * and which would otherwise silently shadow a policy) come back as issues, never as exceptions.
 */
export function parseYaml(file: string, text: string): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return {
          file,
          line,
          col,
          severity: 'error' as const,
          message: `invalid YAML: ${firstLine(e.message)}`,
        };
      }),
    };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  return {
    ok: true,
    source: {
      file,
      data,
      position: (path, at = 'value') => {
        const offset = locate(doc, path, at);
        return lineCounter.linePos(offset);
      },
    },
  };
}

function firstLine(message: string): string {
  const text = message.split('\n')[0] ?? message;
  return text.replace(/ at line \d+, column \d+:?$/, '');
}

/** Walks the document along `path`; returns the start offset of the deepest node reached. */
function locate(doc: Document, path: readonly PropertyKey[], at: 'key' | 'value'): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    const isLast = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === segment);
      if (pair === undefined) return offset;
      if (isLast && at === 'key') return rangeStart(pair.key) ?? offset;
      node = pair.value;
      // `key:` with no value has no value node: point at the key.
      offset = rangeStart(node) ?? rangeStart(pair.key) ?? offset;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) return offset;
      node = item;
      offset = rangeStart(node) ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}
