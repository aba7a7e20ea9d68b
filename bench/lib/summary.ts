/**
 * The one summary table of `npm run bench`: every benchmark that compares us with the
 * standard tools writes its ratios as `summaryRows` in its JSON result (.bench/NAME.json),
 * and bench/run.ts prints them together at the end, each with the target it is held to.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fmtMs, fmtRss, formatTable } from './table.js';

export interface SummaryRow {
  operation: string;
  oursMs: number | null;
  theirsMs: number | null;
  /** ours / theirs, wall time. */
  ratio: number | null;
  cpuRatio: number | null;
  oursRssKb: number | null;
  theirsRssKb: number | null;
  /** What the ratio is held to, e.g. "<= 4x" (issue 15). */
  target: string;
}

/** "<= 4x" -> 4; anything else -> null (no verdict). */
function targetLimit(target: string): number | null {
  const m = /^<=\s*([0-9.]+)x/.exec(target.trim());
  return m ? Number(m[1]) : null;
}

/** "(CPU <= 6x)" in a target -> 6: the CPU ratio is held to it too; null when the target names none. */
function cpuLimit(target: string): number | null {
  const m = /CPU\s*<=\s*([0-9.]+)x/.exec(target);
  return m ? Number(m[1]) : null;
}

/** Met only when every part of the target is: within the wall ratio but past the CPU part is "NOT met (CPU)". */
function verdict(row: SummaryRow): string {
  const limit = targetLimit(row.target);
  if (limit === null || row.ratio === null) return '-';
  if (row.ratio > limit) return 'NOT met';
  const cpu = cpuLimit(row.target);
  if (cpu !== null && row.cpuRatio !== null && row.cpuRatio > cpu) return 'NOT met (CPU)';
  return 'met';
}

const x = (r: number | null): string => (r === null ? '-' : `${r.toFixed(2)}x`);

/** The summary rows of the named benchmarks' results, written since `sinceMs` (performance.now() time) when given. */
export function readSummaryRows(resultsDir: string, names: readonly string[], sinceMs?: number): Array<{ bench: string; row: SummaryRow }> {
  const out: Array<{ bench: string; row: SummaryRow }> = [];
  const since = sinceMs === undefined ? 0 : performance.timeOrigin + sinceMs;
  for (const name of names) {
    const file = path.join(resultsDir, `${name}.json`);
    if (!fs.existsSync(file) || fs.statSync(file).mtimeMs < since) continue;
    try {
      const rows = (JSON.parse(fs.readFileSync(file, 'utf8')) as { summaryRows?: SummaryRow[] }).summaryRows;
      for (const row of rows ?? []) out.push({ bench: name, row });
    } catch {
      // A result file being written by another run: left out of the summary.
    }
  }
  return out;
}

export function formatSummary(rows: ReadonlyArray<{ bench: string; row: SummaryRow }>): string {
  return formatTable(
    ['bench', 'operation', 'ours', 'theirs', 'wall ratio', 'CPU ratio', 'peak RSS ours', 'theirs', 'target', ''],
    rows.map(({ bench, row }) => [bench, row.operation, fmtMs(row.oursMs), fmtMs(row.theirsMs), x(row.ratio), x(row.cpuRatio), fmtRss(row.oursRssKb), fmtRss(row.theirsRssKb), row.target, verdict(row)]),
  );
}
