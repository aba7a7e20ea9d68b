/** The with/without table of the load benchmarks (archiving, shipping): the same rows, ratios with ÷ without. */
import { fmtInt, fmtMs, fmtRatio, fmtRss, formatTable } from './table.js';

/** What every load run reports (the child's figures plus the parent's peak RSS). */
export interface LoadFigures {
  throughput: number;
  latencyMs: { p50: number; p99: number; p999: number; max: number };
  peakRssKb: number | null;
  cpuUserMs: number;
  cpuSystemMs: number;
}

export const ratioOf = (w: number | null | undefined, wo: number | null | undefined): number | null =>
  w === null || w === undefined || wo === null || wo === undefined || !Number.isFinite(w) || !Number.isFinite(wo) || !(wo > 0) ? null : w / wo;

const ROWS: Array<{ name: string; key: string; get: (r: LoadFigures) => number | null; fmt: (v: number | null) => string }> = [
  { name: 'throughput (acked writes/s)', key: 'throughput', get: (r) => r.throughput, fmt: (v) => (v === null ? 'n/a' : fmtInt(v)) },
  { name: 'latency p50', key: 'p50', get: (r) => r.latencyMs.p50, fmt: fmtMs },
  { name: 'latency p99', key: 'p99', get: (r) => r.latencyMs.p99, fmt: fmtMs },
  { name: 'latency p99.9', key: 'p999', get: (r) => r.latencyMs.p999, fmt: fmtMs },
  { name: 'latency max', key: 'max', get: (r) => r.latencyMs.max, fmt: fmtMs },
  { name: 'peak RSS', key: 'peakRss', get: (r) => r.peakRssKb, fmt: fmtRss },
  { name: 'CPU time (user + system)', key: 'cpu', get: (r) => r.cpuUserMs + r.cpuSystemMs, fmt: fmtMs },
];

/** Fills `ratios` (with ÷ without, per row) and returns the table; a run that failed shows n/a. */
export function withWithoutTable(headers: [string, string, string], without: LoadFigures | null, withIt: LoadFigures | null, ratios: Record<string, number | null>): string {
  for (const row of ROWS) ratios[row.key] = ratioOf(withIt ? row.get(withIt) : null, without ? row.get(without) : null);
  return formatTable(
    [...headers, 'with/without'],
    ROWS.map((row) => {
      const a = without ? row.get(without) : null;
      const b = withIt ? row.get(withIt) : null;
      return [row.name, row.fmt(a), row.fmt(b), fmtRatio(b, a)];
    }),
  );
}
