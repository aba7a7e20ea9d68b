/** Formatting of benchmark figures and the results table. */

export interface TableRow {
  name: string;
  /** Our time in ms. */
  oursMs: number;
  /** The standard tool's time in ms (null when it could not run). */
  theirsMs: number | null;
  /** Peak RSS of our process and of the tool, KiB (null = unknown). */
  oursRssKb: number | null;
  theirsRssKb: number | null;
  /** Free-form note (which tool, what was compared). */
  note?: string;
}

export function fmtMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return 'n/a';
  if (ms < 1) return `${ms.toFixed(3)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export function fmtRss(kb: number | null): string {
  if (kb === null || !Number.isFinite(kb)) return 'n/a';
  if (kb < 1024) return `${kb} KiB`;
  return `${(kb / 1024).toFixed(1)} MiB`;
}

export function fmtBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** ours / theirs, e.g. "12.3x"; "n/a" when either is unknown or theirs is 0. */
export function fmtRatio(ours: number | null, theirs: number | null): string {
  if (ours === null || theirs === null || !(theirs > 0)) return 'n/a';
  const r = ours / theirs;
  return r >= 100 ? `${r.toFixed(0)}x` : r >= 10 ? `${r.toFixed(1)}x` : `${r.toFixed(2)}x`;
}

export function ratio(ours: number | null, theirs: number | null): number | null {
  if (ours === null || theirs === null || !(theirs > 0)) return null;
  return ours / theirs;
}

/** Lines/s and MB/s (MB = 10^6 bytes) for `lines` and `bytes` in `ms`. */
export function throughput(lines: number, bytes: number, ms: number): { linesPerSec: number; mbPerSec: number } {
  const s = ms / 1000;
  return { linesPerSec: s > 0 ? lines / s : 0, mbPerSec: s > 0 ? bytes / 1e6 / s : 0 };
}

/** A plain-text table with aligned columns. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(headers), sep, ...rows.map(line)].join('\n');
}

/** The standard results table: name, ours, theirs, ratio ours/theirs, peak RSS (ours / theirs). */
export function formatResultsTable(rows: readonly TableRow[]): string {
  return formatTable(
    ['benchmark', 'ours', 'theirs', 'ours/theirs', 'peak RSS ours / theirs'],
    rows.map((r) => [
      r.name,
      fmtMs(r.oursMs),
      fmtMs(r.theirsMs),
      fmtRatio(r.oursMs, r.theirsMs),
      `${fmtRss(r.oursRssKb)} / ${fmtRss(r.theirsRssKb)}`,
    ]),
  );
}
