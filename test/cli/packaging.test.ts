import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@jest/globals';
import { builtinModules } from 'node:module';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  dependencies: Record<string, string>;
  optionalDependencies: Record<string, string>;
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

// The production image installs `dependencies` only (npm ci --omit=dev --omit=optional):
// a runtime import of anything else would crash the gateway in production, not in tests.
test('runtime code imports only production dependencies; demo code may use the optional ones', () => {
  const problems: string[] = [];
  for (const file of sourceFiles('src')) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(
      /^import (?!type )[^'"]*['"]([^'"]+)['"]|import\(['"]([^'"]+)['"]\)/gm,
    )) {
      const specifier = match[1] ?? match[2]!;
      if (
        specifier.startsWith('.') ||
        specifier.startsWith('node:') ||
        builtinModules.includes(specifier)
      )
        continue;
      const name = packageOf(specifier);
      const allowed = file.startsWith(join('src', 'demo'))
        ? { ...pkg.dependencies, ...pkg.optionalDependencies }
        : pkg.dependencies;
      if (!(name in allowed)) problems.push(`${file} imports ${name}`);
    }
  }
  expect(problems).toEqual([]);
});
