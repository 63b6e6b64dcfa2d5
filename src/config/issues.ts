/** One problem found in a config file, positioned like a compiler error. */
export interface ConfigIssue {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly severity: 'error' | 'warning';
  readonly message: string;
  readonly hint?: string | undefined;
}

/** `file:line:col: message (hint: …)`; warnings say so after the position. */
export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.col}`;
  const kind = issue.severity === 'warning' ? ' warning:' : '';
  const hint = issue.hint === undefined ? '' : ` (hint: ${issue.hint})`;
  return `${where}:${kind} ${issue.message}${hint}`;
}

/** Sorts issues by file, then position, so that output reads top to bottom. */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col,
  );
}

export function hasErrors(issues: readonly ConfigIssue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}

/** Thrown by loaders when a file cannot be used; carries every issue found, not just the first. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(sortIssues(issues).map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
