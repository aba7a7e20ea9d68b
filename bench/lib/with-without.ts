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

/** What a load child reports that the one-line summary of a run shows. */
export interface LoadRunSummary {
  acked: number;
  scheduled: number;
  wallS: number;
  throughput: number;
  seconds: number;
  perSecondAcks: number[];
  latencyMs: { p50: number; p99: number; max: number };
  maxInFlightSeen: number;
  eventLoopDelayMs: { p99: number; max: number };
  cpuUserMs: number;
  cpuSystemMs: number;
  closeMs: number;
}

/** One run in a line: throughput, latency, in flight, event loop delay, CPU, close, peak RSS and load. */
export function loadRunLine(title: string, r: LoadRunSummary, child: { peakRssKb: number | null; rssSource: string }, loadavgBefore: number[]): string {
  const minSecond = Math.min(...r.perSecondAcks.slice(0, Math.floor(r.seconds)));
  return (
    `${title}: ${fmtInt(r.acked)}/${fmtInt(r.scheduled)} writes acked in ${r.wallS.toFixed(2)} s = ${fmtInt(r.throughput)}/s ` +
    `(slowest second ${fmtInt(minSecond)}), p50 ${fmtMs(r.latencyMs.p50)}, p99 ${fmtMs(r.latencyMs.p99)}, max ${fmtMs(r.latencyMs.max)}; ` +
    `most in flight ${fmtInt(r.maxInFlightSeen)}; event loop delay p99 ${fmtMs(r.eventLoopDelayMs.p99)}, max ${fmtMs(r.eventLoopDelayMs.max)}; ` +
    `CPU ${fmtMs(r.cpuUserMs + r.cpuSystemMs)}; close ${fmtMs(r.closeMs)}; peak RSS ${fmtRss(child.peakRssKb)} (${child.rssSource}); ` +
    `load avg ${loadavgBefore.map((x) => x.toFixed(2)).join(' ')}`
  );
}
