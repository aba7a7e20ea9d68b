/**
 * Issue 15's ratios for the archive benchmark: many small members at level 19
 * against the same bytes in one member (our create both times, same run), and
 * `summaryRows`, one row per ratio the issue names, for the summary table that
 * bench/run.ts prints (create L3, create L19, small members L19, verify).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runNodeChild } from './lib/measure.js';
import { fmtBytes, fmtMs, fmtRatio, fmtRss } from './lib/table.js';
import { generateWal } from './lib/walgen.js';
import type { SummaryRow } from './lib/summary.js';

export type { SummaryRow };

export interface SmallMembersFigures {
  segments: number;
  segmentBytes: number;
  walBytes: number;
  level: number;
  many: { ms: number; cpuMs: number | null; peakRssKb: number | null; compressedSize: number } | null;
  one: { ms: number; cpuMs: number | null; peakRssKb: number | null; compressedSize: number } | null;
  error?: string;
}

const div = (a: number | null | undefined, b: number | null | undefined): number | null => (a == null || b == null || b === 0 ? null : a / b);

interface CreateResult {
  maxRssKb?: number;
  createMs: number;
  cpuMs: number;
  segments: number;
  compressedSize: number;
  walLines: number;
}

/**
 * Our create at `level` on a WAL of `segments` segments of `segmentBytes` (the case: 47 of
 * 16 KiB, 743 KiB) and on the same lines in one segment, each on its own data directory.
 */
export async function runSmallMembers(o: { root: string; createChild: string; bytesPerLine: number; level: number; par2: boolean; log: (line: string) => void; segments?: number; segmentBytes?: number }): Promise<SmallMembersFigures> {
  const segments = o.segments ?? 47;
  const segmentBytes = o.segmentBytes ?? 16 * 1024;
  const lines = Math.floor((segments * segmentBytes * 0.99) / o.bytesPerLine);
  const out: SmallMembersFigures = { segments, segmentBytes, walBytes: 0, level: o.level, many: null, one: null };
  const run = async (name: string, segmentSize: number) => {
    const dir = path.join(o.root, `small-${name}`);
    const gen = generateWal({ dataDir: dir, lines, segmentSize });
    out.walBytes = gen.bytes;
    const c = await runNodeChild<CreateResult>(o.createChild, ['--dir', dir, '--level', String(o.level), ...(o.par2 ? [] : ['--no-par2'])]);
    if (c.result.walLines !== lines) throw new Error(`the archive holds ${c.result.walLines} lines, the WAL ${lines}`);
    if (process.env.BENCH_KEEP !== '1') fs.rmSync(dir, { recursive: true, force: true });
    return { ms: c.result.createMs, cpuMs: c.result.cpuMs, peakRssKb: c.peakRssKb, compressedSize: c.result.compressedSize, segments: c.result.segments };
  };
  try {
    const many = await run('many', segmentBytes);
    const one = await run('one', 1024 * 1024 * 1024);
    out.many = many;
    out.one = one;
    out.segments = many.segments;
    o.log(
      `  small members: create L${o.level} of ${fmtBytes(out.walBytes)} in ${many.segments} segments of ~${fmtBytes(segmentBytes)}: ${fmtMs(many.ms)} (CPU ${fmtMs(many.cpuMs)}, ` +
        `peak RSS ${fmtRss(many.peakRssKb)}, members ${many.compressedSize} B); the same lines in one segment: ${fmtMs(one.ms)} (CPU ${fmtMs(one.cpuMs)}, ${one.compressedSize} B): ${fmtRatio(many.ms, one.ms)}`,
    );
  } catch (err) {
    out.error = (err as Error).message;
    o.log(`  small members FAILED: ${out.error}`);
  }
  return out;
}

interface RowLike {
  operation: string;
  sizeMib: number;
  level: number | null;
  ours: { ms: number; cpuMs: number | null; peakRssKb: number | null } | { error: string };
  theirs: { ms: number | null; cpuMs: number | null; peakRssKb: number | null };
}

/** The summary rows from the benchmark's rows (at its largest WAL) and the small-members run. */
export function archiveSummaryRows(rows: readonly RowLike[], small: SmallMembersFigures | null, cores: number): SummaryRow[] {
  const biggest = Math.max(...rows.map((r) => r.sizeMib), 0);
  const out: SummaryRow[] = [];
  const from = (operation: string, target: string, r: RowLike | undefined) => {
    const o = r && !('error' in r.ours) ? r.ours : null;
    out.push({
      operation: r ? `${operation} (${r.sizeMib} MiB WAL)` : operation,
      oursMs: o?.ms ?? null,
      theirsMs: r?.theirs.ms ?? null,
      ratio: div(o?.ms, r?.theirs.ms),
      cpuRatio: div(o?.cpuMs, r?.theirs.cpuMs),
      oursRssKb: o?.peakRssKb ?? null,
      theirsRssKb: r?.theirs.peakRssKb ?? null,
      target,
    });
  };
  const find = (prefix: string) => rows.find((r) => r.sizeMib === biggest && r.operation.startsWith(prefix));
  // -T0 is every core: -T2 on this 2-core machine.
  const t = `-T0 = -T${cores}`;
  from(`create L3 vs tar | zstd -3 -T0 | sha256sum`, '<= 5x', find('create L3 vs tar|zstd -3 -T0'));
  from(`create L19 vs tar | zstd -19 ${t} | sha256sum`, '<= 1.1x', find('create L19 vs tar|zstd -19 -T0'));
  from('verify vs zstd -t + sha256sum -c', '<= 4x', find('verify L3') ?? find('verify L19'));
  if (small) {
    out.push({
      operation: `create L${small.level}, ${small.segments} members of ${fmtBytes(small.segmentBytes)} vs the same ${fmtBytes(small.walBytes)} as one member (ours both)`,
      oursMs: small.many?.ms ?? null,
      theirsMs: small.one?.ms ?? null,
      ratio: div(small.many?.ms, small.one?.ms),
      cpuRatio: div(small.many?.cpuMs, small.one?.cpuMs),
      oursRssKb: small.many?.peakRssKb ?? null,
      theirsRssKb: small.one?.peakRssKb ?? null,
      target: '<= 1.5x',
    });
  }
  return out;
}
