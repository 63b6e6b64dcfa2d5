import { describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// DESIGN §1: layers only point down, and there are no import cycles. This reads every source
// file's static and dynamic imports (type-only ones too: a type cycle is a design cycle).

const SRC = resolve('src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s+'(\.[^']+)'|import\('(\.[^']+)'\)/g;

/** file (relative to src/) → the project files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const imports = [...text.matchAll(IMPORT)].map((m) =>
      relative(SRC, resolve(dirname(file), (m[1] ?? m[2])!.replace(/\.js$/, '.ts'))),
    );
    graph.set(relative(SRC, file), imports);
  }
  return graph;
}

/** Strongly connected components with more than one file (or a self-import): the cycles. */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!graph.has(to)) continue;
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node)!, index.get(to)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node)!.includes(node)) cycles.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

const roomOf = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '.');

/** room → the rooms its files import. */
function roomGraph(graph: Map<string, string[]>): Map<string, string[]> {
  const rooms = new Map<string, Set<string>>();
  for (const [file, imports] of graph) {
    const from = roomOf(file);
    const set = rooms.get(from) ?? new Set<string>();
    for (const to of imports) if (roomOf(to) !== from) set.add(roomOf(to));
    rooms.set(from, set);
  }
  return new Map([...rooms].map(([room, set]) => [room, [...set]]));
}

describe('import graph (DESIGN §1)', () => {
  const graph = importGraph();
  const rooms = roomGraph(graph);

  test('has no cycles between files', () => {
    expect(cyclesOf(graph)).toEqual([]);
  });

  test('finds a cycle when there is one (the checker works)', () => {
    const looped = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cyclesOf(looped)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  test.each([
    ['posture', 'policy'],
    ['demo', 'cli'],
    ['routing', 'config'],
    ['policy', 'pipeline'],
  ])('%s/ never imports %s/', (from, to) => {
    expect(rooms.get(from) ?? []).not.toContain(to);
  });

  test('routing/ and policy/ import only pure rooms', () => {
    const pure = new Set(['routing', 'policy', 'posture', 'lib']);
    expect((rooms.get('routing') ?? []).filter((room) => !pure.has(room))).toEqual([]);
    expect((rooms.get('policy') ?? []).filter((room) => !pure.has(room))).toEqual([]);
  });

  test('start-up lives in gateway/, not cli/; no pipeline file sits at the root', () => {
    expect(graph.has('gateway/start.ts')).toBe(true);
    expect([...graph.keys()].filter((file) => roomOf(file) === '.').sort()).toEqual([
      'app.ts',
      'errors.ts',
      'main.ts',
    ]);
  });
});
