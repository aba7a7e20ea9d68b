/**
 * The archiving benchmark: a database at a steady write load, once without archiving and
 * once with archiving triggered every N WAL entries (and WAL cleanup after each archive),
 * at the same target rate for the same time. Prints write throughput and latency (p50,
 * p99, p99.9, max) and peak RSS of both runs, side by side, with the ratio with/without;
 * then the archives made and the WAL size at the end of the run with archiving (cleanup
 * keeps it bounded). Writes JSON to .bench/archiving.json.
 *
 * Each run is its own child process (`children/archiving-load.ts`): an open-loop
 * generator starts each `db.set()` at its due time, without waiting for the ones before,
 * and times it from that due time to its acknowledgement (queueing included).
 *
 * Run: `npm run bench -- --only archiving [--quick] [--rate N] [--seconds N] [--every N]
 *      [--max-inflight N] [--keys N]`, or `tsx bench/archiving.ts [same flags]`.
 * Defaults: 5,000 writes/s for 20 s, an archive every 20,000 entries; --quick: 6 s, every 5,000.
 * Environment: BENCH_TMP (where data dirs go), BENCH_KEEP=1 (keep them), BENCH_NODE_FLAGS.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArchiveRecord } from './children/archiving-load.js';
import { benchRoot, hasGnuTime, runNodeChild, siblingPath, machineInfo, type MachineInfo } from './lib/measure.js';
import { fmtBytes, fmtInt, fmtMs } from './lib/table.js';
import { loadRunLine, withWithoutTable } from './lib/with-without.js';
import { flag, positiveInt } from './lib/args.js';
import type { SummaryRow } from './archive-summary.js';

export const DEFAULT_RATE = 5000;
export const DEFAULT_SECONDS = 20;
export const QUICK_SECONDS = 6;
export const DEFAULT_EVERY = 20_000;
export const QUICK_EVERY = 5000;
const DEFAULT_MAX_IN_FLIGHT = 2000;
const DEFAULT_KEYS = 50_000;

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_FILE = path.join(REPO_ROOT, '.bench', 'archiving.json');

export interface ArchivingBenchOptions {
  /** Shorter run (6 s) and an archive every 5,000 entries. */
  quick?: boolean;
  /** Command line: `--rate N`, `--seconds N`, `--every N`, `--max-inflight N`, `--keys N` override. */
  argv?: readonly string[];
  log?: (line: string) => void;
}

/** What the child reports (children/archiving-load.ts). */
export interface LoadChildResult {
  archiving: boolean;
  every: number;
  rate: number;
  seconds: number;
  maxInFlight: number;
  keys: number;
  scheduled: number;
  started: number;
  acked: number;
  errors: number;
  firstError?: string;
  notStarted: number;
  deferredTicks: number;
  maxInFlightSeen: number;
  wallS: number;
  scheduleEndS: number;
  drainedS: number;
  throughput: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  perSecondAcks: number[];
  perSecondMaxMs: number[];
  archives: ArchiveRecord[];
  archivesMade: number;
  archiveFailures: Array<{ reason: string; atMs: number; error: string }>;
  archivesSkipped: number;
  archiveEventsBeforeClose: number;
  archiveBytes: number;
  archivesDirBytes: number;
  walEndBytes: number;
  walEndFiles: number;
  walAfterCloseBytes: number;
  walAfterCloseFiles: number;
  walPeakBytes: number;
  walPeakFiles: number;
  totalLines: number;
  cleanedLines: number;
  documents: number;
  openMs: number;
  closeMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  maxRssKb: number;
}

export interface LoadRunFigures extends LoadChildResult {
  childWallMs: number;
  peakRssKb: number | null;
  rssSource: string;
  loadavgBefore: number[];
  loadavgAfter: number[];
  /** Problems with the run's figures (writes lost, the rate not kept up, archive failures). */
  problems: string[];
}

export interface ArchivingBenchResult {
  startedAt: string;
  machine: MachineInfo;
  options: { rate: number; seconds: number; every: number; maxInFlight: number; keys: number; quick: boolean };
  without: LoadRunFigures | { error: string };
  with: LoadRunFigures | { error: string };
  ratios: Record<string, number | null>;
  /** Issue 15's ratio: the writers' p99 with archiving against without (bench/run.ts prints it in its summary table). */
  summaryRows: SummaryRow[];
}

/** The writers' p99 latency with archiving beside them against without; CPU of the whole child with/without. */
export function archivingSummaryRows(wo: LoadRunFigures | null, w: LoadRunFigures | null): SummaryRow[] {
  const div = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null || b === 0 ? null : a / b);
  const cpu = (r: LoadRunFigures | null) => (r ? r.cpuUserMs + r.cpuSystemMs : null);
  return [
    {
      operation: `writers' p99 latency with archiving (every ${w?.every ?? '?'} entries) / without`,
      oursMs: w?.latencyMs.p99 ?? null,
      theirsMs: wo?.latencyMs.p99 ?? null,
      ratio: div(w?.latencyMs.p99, wo?.latencyMs.p99),
      cpuRatio: div(cpu(w), cpu(wo)),
      oursRssKb: w?.peakRssKb ?? null,
      theirsRssKb: wo?.peakRssKb ?? null,
      target: '<= 3x',
    },
  ];
}

function resolveOptions(opts: ArchivingBenchOptions): ArchivingBenchResult['options'] {
  const argv = opts.argv ?? [];
  const quick = opts.quick ?? argv.includes('--quick');
  return {
    rate: positiveInt(flag(argv, 'rate'), '--rate') ?? DEFAULT_RATE,
    seconds: positiveInt(flag(argv, 'seconds'), '--seconds') ?? (quick ? QUICK_SECONDS : DEFAULT_SECONDS),
    every: positiveInt(flag(argv, 'every'), '--every') ?? (quick ? QUICK_EVERY : DEFAULT_EVERY),
    maxInFlight: positiveInt(flag(argv, 'max-inflight'), '--max-inflight') ?? DEFAULT_MAX_IN_FLIGHT,
    keys: positiveInt(flag(argv, 'keys'), '--keys') ?? DEFAULT_KEYS,
    quick,
  };
}

const isRun = (r: LoadRunFigures | { error: string }): r is LoadRunFigures => !('error' in r);

/** Checks that a run's figures mean what the table says. */
function problemsOf(r: LoadChildResult): string[] {
  const out: string[] = [];
  if (r.errors > 0) out.push(`${fmtInt(r.errors)} write(s) failed (first: ${r.firstError ?? '?'})`);
  if (r.notStarted > 0) out.push(`${fmtInt(r.notStarted)} due write(s) never started within ${r.seconds} s: the database did not keep up with ${fmtInt(r.rate)}/s`);
  if (r.totalLines + r.cleanedLines !== r.acked)
    out.push(`the store counts ${fmtInt(r.totalLines)} lines + ${fmtInt(r.cleanedLines)} removed by cleanup, but ${fmtInt(r.acked)} writes were acknowledged`);
  if (r.archiveFailures.length > 0) out.push(`${r.archiveFailures.length} archive run(s) failed (first: ${r.archiveFailures[0]!.error})`);
  const cleanupErrors = r.archives.filter((a) => a.cleanupError !== undefined);
  if (cleanupErrors.length > 0) out.push(`${cleanupErrors.length} WAL cleanup(s) failed (first: ${cleanupErrors[0]!.cleanupError})`);
  if (r.archiving && r.archivesMade === 0) out.push('archiving was on but no archive was made');
  return out;
}

async function runLoad(
  root: string,
  label: 'without' | 'with',
  o: ArchivingBenchResult['options'],
  log: (s: string) => void,
): Promise<LoadRunFigures> {
  const dataDir = path.join(root, label);
  const loadavgBefore = os.loadavg();
  const child = await runNodeChild<LoadChildResult>(
    siblingPath(import.meta.url, 'children', 'archiving-load.ts'),
    [
      '--dir', dataDir,
      '--rate', String(o.rate),
      '--seconds', String(o.seconds),
      '--every', label === 'with' ? String(o.every) : '0',
      '--max-inflight', String(o.maxInFlight),
      '--keys', String(o.keys),
    ],
    // The run itself, plus close (which waits for an archive in progress), plus generous slack.
    { timeoutMs: o.seconds * 1000 + 10 * 60 * 1000 },
  );
  const r = child.result;
  const figures: LoadRunFigures = {
    ...r,
    childWallMs: child.wallMs,
    peakRssKb: child.peakRssKb,
    rssSource: child.rssSource,
    loadavgBefore,
    loadavgAfter: os.loadavg(),
    problems: problemsOf(r),
  };
  log(loadRunLine(`${label} archiving`, r, child, loadavgBefore));
  for (const p of figures.problems) log(`  ${label}: PROBLEM: ${p}`);
  return figures;
}

/** Runs the archiving benchmark, prints its figures and table, writes `.bench/archiving.json`. */
export async function runArchivingBench(opts: ArchivingBenchOptions = {}): Promise<ArchivingBenchResult> {
  const log = opts.log ?? ((s: string) => console.log(`[archiving] ${s}`));
  const o = resolveOptions(opts);
  const root = benchRoot('archiving');
  const cpus = os.cpus();
  const gnuTime = hasGnuTime();
  const result: ArchivingBenchResult = {
    startedAt: new Date().toISOString(),
    machine: machineInfo(root, gnuTime),
    options: o,
    without: { error: 'not run' },
    with: { error: 'not run' },
    ratios: {},
    summaryRows: [],
  };
  log(
    `${cpus.length} CPU(s) ${result.machine.cpuModel}, node ${process.version}, data in ${root}; ` +
      `target ${fmtInt(o.rate)} writes/s for ${o.seconds} s (${fmtInt(o.rate * o.seconds)} writes, ~200-byte payloads over ${fmtInt(o.keys)} keys, ` +
      `open loop, at most ${fmtInt(o.maxInFlight)} in flight), fsyncMode 'batched' (10 ms), 1 MiB segments; ` +
      `with archiving: triggers { walEntries: ${fmtInt(o.every)} }, zstd level 3, PAR2 on (the default), cleanupWal; ` +
      `peak RSS from ${gnuTime ? 'GNU time' : "the child's process.resourceUsage().maxRSS"}`,
  );
  try {
    for (const label of ['without', 'with'] as const) {
      try {
        result[label] = await runLoad(root, label, o, log);
      } catch (err) {
        const message = (err as Error)?.message ?? String(err);
        log(`${label} archiving FAILED: ${message}`);
        result[label] = { error: message };
      } finally {
        if (process.env.BENCH_KEEP !== '1') fs.rmSync(path.join(root, label), { recursive: true, force: true });
      }
    }
  } finally {
    if (process.env.BENCH_KEEP !== '1') fs.rmSync(root, { recursive: true, force: true });
    else log(`data kept in ${root}`);
  }

  const wo = isRun(result.without) ? result.without : null;
  const w = isRun(result.with) ? result.with : null;
  console.log('');
  console.log(withWithoutTable([`${fmtInt(o.rate)} writes/s for ${o.seconds} s`, 'without', 'with'], wo, w, result.ratios));
  console.log('');
  if (w) {
    const runs = w.archives.map((a) => a.endMs - a.startMs);
    const cleaned = w.archives.reduce((n, a) => n + (a.cleanupSegments ?? 0), 0);
    log(
      `with archiving: ${w.archivesMade} archive(s) made (every ${fmtInt(o.every)} entries; ${w.archiveEventsBeforeClose} finished before close, ` +
        `${w.archiveFailures.length} failed, ${w.archivesSkipped} skipped), ${fmtBytes(w.archiveBytes)} of archives; ` +
        (runs.length > 0 ? `each run (create + cleanup) took ${fmtMs(Math.min(...runs))} - ${fmtMs(Math.max(...runs))}; ` : '') +
        `cleanup removed ${cleaned} segment(s), ${fmtInt(w.cleanedLines)} lines`,
    );
    log(
      `WAL at the end of the load: ${fmtBytes(w.walEndBytes)} in ${w.walEndFiles} file(s) with archiving (peak sampled every 0.5 s: ${fmtBytes(w.walPeakBytes)}; ` +
        `after close, which waits for the last archive: ${fmtBytes(w.walAfterCloseBytes)} in ${w.walAfterCloseFiles})` +
        (wo ? `, ${fmtBytes(wo.walEndBytes)} in ${wo.walEndFiles} file(s) without` : ''),
    );
  }
  result.summaryRows = archivingSummaryRows(wo, w);
  for (const r of result.summaryRows) log(`summary: ${r.operation}: ${r.oursMs === null ? 'n/a' : fmtMs(r.oursMs)} / ${r.theirsMs === null ? 'n/a' : fmtMs(r.theirsMs)} = ${r.ratio === null ? 'n/a' : `${r.ratio.toFixed(2)}x`} (target ${r.target})`);
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
  log(`results written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  const failed = (['without', 'with'] as const).filter((l) => !isRun(result[l]));
  if (failed.length > 0) throw new Error(`the run(s) ${failed.join(' and ')} failed: ${failed.map((l) => (result[l] as { error: string }).error.replace(/\s*\n\s*/g, ' ').slice(0, 300)).join('; ')}`);
  return result;
}

// `tsx bench/archiving.ts [--quick] [--rate N] ...` runs it on its own.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  runArchivingBench({ quick: argv.includes('--quick'), argv }).catch((err: unknown) => {
    console.log(`archiving bench failed: ${(err as Error)?.stack ?? String(err)}`);
  });
}
