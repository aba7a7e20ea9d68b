/**
 * Figures of the restore benchmark beyond one timed call: the time to a working
 * database (restore + the store's first open, against the tools' unpacking + the
 * store's open of what they unpacked), the replayed state's own heap, and the rows
 * the summary table of `npm run bench` prints (bench/lib/summary.ts).
 */
import { runNodeChild, siblingPath } from './lib/measure.js';
import type { SummaryRow } from './lib/summary.js';
import { fmtInt, fmtMs, fmtRss, ratio } from './lib/table.js';
import type { OursFigures, RestoreBenchResult, TheirsFigures } from './restore.js';

/** BriStore.open of a restored directory, in a child (children/store-recover.ts). */
export interface OpenFigures {
  ms: number;
  /** Lines replayed above the snapshot (0: the snapshot is at the last line). */
  replayed: number;
  /** The state's own heap once open (heap after minus before, both collected). */
  stateHeapKb: number | null;
}

interface StoreOpenResult {
  maxRssKb?: number;
  openMs: number;
  totalLines: number;
  snapshotLine: number;
  stateHeapKb: number | null;
}

export async function openFigures(dir: string): Promise<OpenFigures> {
  const c = await runNodeChild<StoreOpenResult>(siblingPath(import.meta.url, 'children', 'store-recover.ts'), ['--dir', dir], { nodeFlags: ['--expose-gc'] });
  return { ms: c.result.openMs, replayed: c.result.totalLines - c.result.snapshotLine, stateHeapKb: c.result.stateHeapKb };
}

export interface WorkingDbFigures {
  oursMs: number | null;
  oursOpen: OpenFigures | null;
  theirsMs: number | null;
  theirsOpen: OpenFigures | { error: string };
  ratio: number | null;
}

export function workingDb(ours: OursFigures | { error: string }, theirs: TheirsFigures, theirsOpen: OpenFigures | { error: string }): WorkingDbFigures {
  const o = 'error' in ours ? null : ours;
  const oursMs = o?.open ? o.ms + o.open.ms : null;
  const theirsMs = theirs.ms !== null && !('error' in theirsOpen) ? theirs.ms + theirsOpen.ms : null;
  return { oursMs, oursOpen: o?.open ?? null, theirsMs, theirsOpen, ratio: ratio(oursMs, theirsMs) };
}

export function workingDbLine(w: WorkingDbFigures): string {
  const open = (f: OpenFigures | { error: string } | null): string =>
    f === null ? 'n/a' : 'error' in f ? `failed (${f.error.split('\n')[0]})` : `${fmtMs(f.ms)}, ${fmtInt(f.replayed)} lines replayed, state heap ${fmtRss(f.stateHeapKb)}`;
  return (
    `  time to a working database: ours restore + first open ${fmtMs(w.oursMs)} (open: ${open(w.oursOpen)}); ` +
    `theirs unpacking + the store's open of it ${fmtMs(w.theirsMs)} (open: ${open(w.theirsOpen)}); ratio ${w.ratio === null ? 'n/a' : `${w.ratio.toFixed(2)}x`}`
  );
}

/** The restore benchmark's rows of the summary table, with issue 15's targets. */
export function restoreSummaryRows(r: RestoreBenchResult): SummaryRow[] {
  const size = r.wal ? `${Math.round(r.wal.bytes / 1024 / 1024)} MiB` : '?';
  const rows: SummaryRow[] = [];
  for (const row of r.rows) {
    const o = 'error' in row.ours ? null : row.ours;
    const target = row.operation.startsWith('restore latest') ? '<= 4x (CPU <= 6x)' : row.operation.includes('awk') ? '<= 2x' : '';
    if (target === '') continue;
    rows.push({ operation: `${row.operation} (${size})`, oursMs: o?.ms ?? null, theirsMs: row.theirs?.ms ?? null, ratio: row.timeRatio, cpuRatio: row.cpuRatio, oursRssKb: o?.peakRssKb ?? null, theirsRssKb: row.theirs?.peakRssKb ?? null, target });
    if (o?.open?.stateHeapKb != null && o.peakRssKb !== null) {
      // Peak RSS against one replayed state + 150 MiB: "ours" is the peak, "theirs" the state's heap + 150 MiB.
      const allowed = o.open.stateHeapKb + 150 * 1024;
      rows.push({ operation: `restore latest peak RSS vs state heap ${fmtRss(o.open.stateHeapKb)} + 150 MiB (${size})`, oursMs: null, theirsMs: null, ratio: o.peakRssKb / allowed, cpuRatio: null, oursRssKb: o.peakRssKb, theirsRssKb: allowed, target: '<= 1x' });
    }
  }
  const w = r.workingDb;
  if (w) rows.push({ operation: `time to a working DB: restore + first open vs unpack + open (${size})`, oursMs: w.oursMs, theirsMs: w.theirsMs, ratio: w.ratio, cpuRatio: null, oursRssKb: null, theirsRssKb: null, target: '<= 0.5x' });
  return rows;
}
