/**
 * The remote restore benchmark: the same restore of the latest state from an S3-compatible
 * server (s3rver on 127.0.0.1) and from the local archive file, in the same run, interleaved.
 *
 * Setup (not compared): a generated WAL (200 MiB; --quick: 20; --mib N), one archive at level 3
 * kept in the archive directory and uploaded to the S3 remote. Then, `--runs` times (default 3),
 * in child processes, alternating which goes first:
 *   theirs = openRestore(...).fromLatest({ source: 'local' })  (reads the archive file)
 *   ours   = openRestore(...).fromLatest({ source: 's3' })     (parallel ranged GETs into a
 *            scratch file beside the target, resumable per part, hashed on the way, then the
 *            same restore from that file)
 * and keeps the median of each. Prints wall, CPU (the child's; the server's apart), peak RSS and
 * the ratio S3 / local (target <= 1.3x). Writes .bench/restore-remote.json with `summaryRows`.
 *
 * Run: `npx tsx bench/restore-remote.ts [--quick] [--mib N] [--runs N]`, or through bench/run.ts
 * (`runRestoreRemoteBench({ quick, argv })`). Environment: BENCH_TMP, BENCH_KEEP=1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startS3rver, type S3rverServer } from '../test/support/servers/s3rver.js';
import { flag, positive, positiveInt } from './lib/args.js';
import { benchRoot, hasGnuTime, machineInfo, median, runNodeChild, siblingPath, type ChildRun, type MachineInfo } from './lib/measure.js';
import { fmtBytes, fmtInt, fmtMs, fmtRatio, fmtRss, formatTable, ratio } from './lib/table.js';
import { generateWal, walFiles } from './lib/walgen.js';
import type { SummaryRow } from './lib/summary.js';

const MIB = 1024 * 1024;
export const DEFAULT_RESTORE_REMOTE_MIB = 200;
export const QUICK_RESTORE_REMOTE_MIB = 20;
const LEVEL = 3;
const BUCKET = 'bri-bench';
const TARGET = '<= 1.3x';
const CALIBRATION_LINES = 20_000;
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_FILE = path.join(REPO_ROOT, '.bench', 'restore-remote.json');

export interface RestoreRemoteBenchOptions {
  quick?: boolean;
  argv?: readonly string[];
  log?: (line: string) => void;
}

interface RunChildResult {
  restoreMs: number;
  cpuMs: number;
  marks: Record<string, number>;
  source: string;
  linesRestored: number;
  archiveId: string;
  maxRssKb: number;
}

interface DownloadChildResult {
  ms: number;
  cpuMs: number;
  sha256: string;
  parts: number;
  maxRssKb: number;
}

interface SetupResult {
  createMs: number;
  archiveId: string;
  file: string;
  bytes: number;
  walLines: number;
  uploads: unknown;
  maxRssKb: number;
}

interface SideFigures {
  source: string;
  ms: number;
  runsMs: number[];
  cpuMs: number;
  childWallMs: number;
  peakRssKb: number | null;
  /** ms from the call's start to each restore phase's first event (download, build...), median run. */
  marks: Record<string, number>;
  /** s3rver's own CPU during the run (ours only). */
  serverCpuMs?: number;
}

export interface RestoreRemoteBenchResult {
  startedAt: string;
  machine: MachineInfo;
  options: { walMib: number; runs: number; quick: boolean; level: number };
  wal: { lines: number; bytes: number; segments: number } | null;
  archive: { archiveId: string; bytes: number; createMs: number } | null;
  ours: SideFigures | null;
  theirs: SideFigures | null;
  /** The download alone, median of the runs. */
  download?: { oneGetMs: number; parallelMs: number; parallelParts: number };
  summaryRows: SummaryRow[];
  error?: string;
}

/** CPU time (user + system) of a process so far, from /proc; null where there is none. */
function procCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in ticks of 1/100 s
  } catch {
    return null;
  }
}

function pickMedian(runs: Array<ChildRun<RunChildResult>>, serverCpu: number[]): SideFigures {
  const order = runs.map((r, i) => ({ r, i })).sort((a, b) => a.r.result.restoreMs - b.r.result.restoreMs);
  const { r, i } = order[(order.length - 1) >> 1]!;
  return {
    source: r.result.source,
    ms: r.result.restoreMs,
    runsMs: runs.map((x) => x.result.restoreMs),
    cpuMs: r.result.cpuMs,
    childWallMs: r.wallMs,
    peakRssKb: r.peakRssKb,
    marks: r.result.marks,
    ...(serverCpu.length ? { serverCpuMs: median(serverCpu.length === runs.length ? [serverCpu[i]!] : serverCpu) } : {}),
  };
}

export async function runRestoreRemoteBench(opts: RestoreRemoteBenchOptions = {}): Promise<RestoreRemoteBenchResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const argv = opts.argv ?? [];
  const quick = opts.quick ?? argv.includes('--quick');
  const walMib = positive(flag(argv, 'mib'), '--mib') ?? (quick ? QUICK_RESTORE_REMOTE_MIB : DEFAULT_RESTORE_REMOTE_MIB);
  const runs = positiveInt(flag(argv, 'runs'), '--runs') ?? 3;
  const keep = process.env.BENCH_KEEP === '1';
  const root = benchRoot('restore-remote');
  const result: RestoreRemoteBenchResult = {
    startedAt: new Date().toISOString(),
    machine: machineInfo(root, hasGnuTime()),
    options: { walMib, runs, quick, level: LEVEL },
    wal: null,
    archive: null,
    ours: null,
    theirs: null,
    summaryRows: [],
  };
  const setupChild = siblingPath(import.meta.url, 'children', 'restore-remote-setup.ts');
  const runChild = siblingPath(import.meta.url, 'children', 'restore-remote-run.ts');
  let server: S3rverServer | undefined;
  try {
    server = await startS3rver([BUCKET], undefined, path.join(root, 's3rver'));
    const serverPid = server.child.pid;
    log(`restore-remote bench: ${walMib} MiB WAL, level ${LEVEL}, s3rver at ${server.endpoint}, ${runs} run(s) each, interleaved; data in ${root}`);
    const calDir = path.join(root, 'calibration');
    const cal = generateWal({ dataDir: calDir, lines: CALIBRATION_LINES });
    fs.rmSync(calDir, { recursive: true, force: true });
    const dataDir = path.join(root, 'data');
    const lines = Math.ceil((walMib * MIB * 1.01) / (cal.bytes / cal.lines));
    generateWal({ dataDir, lines });
    const wal = walFiles(dataDir);
    result.wal = { lines, bytes: wal.bytes, segments: wal.files.length };
    log(`generated ${fmtInt(lines)} lines: ${fmtBytes(wal.bytes)} in ${wal.files.length} segment(s)`);
    const common = ['--endpoint', server.endpoint, '--bucket', BUCKET];
    const setup = await runNodeChild<SetupResult>(setupChild, ['--dir', dataDir, '--level', String(LEVEL), ...common]);
    const a = setup.result;
    if (a.walLines !== lines) throw new Error(`the archive holds ${a.walLines} lines, the WAL ${lines}`);
    result.archive = { archiveId: a.archiveId, bytes: a.bytes, createMs: a.createMs };
    log(`archive ${a.archiveId}: ${fmtBytes(a.bytes)}, created and uploaded to s3 in ${fmtMs(a.createMs)}`);

    const ours: Array<ChildRun<RunChildResult>> = [];
    const theirs: Array<ChildRun<RunChildResult>> = [];
    const serverCpu: number[] = [];
    const once = async (source: 'local' | 's3', i: number): Promise<void> => {
      const target = path.join(root, `target-${source}-${i}`);
      const cpu0 = source === 's3' ? procCpuMs(serverPid) : null;
      const c = await runNodeChild<RunChildResult>(runChild, ['--dir', dataDir, '--target', target, '--source', source, ...common]);
      const cpu1 = source === 's3' ? procCpuMs(serverPid) : null;
      if (cpu0 !== null && cpu1 !== null) serverCpu.push(cpu1 - cpu0);
      if (c.result.linesRestored !== lines) throw new Error(`${source} run ${i}: ${c.result.linesRestored} lines restored, the WAL has ${lines}`);
      if (c.result.source !== source) throw new Error(`${source} run ${i}: restored from ${c.result.source}`);
      (source === 's3' ? ours : theirs).push(c);
      log(`  run ${i + 1} ${source.padEnd(5)} ${fmtMs(c.result.restoreMs)} (CPU ${fmtMs(c.result.cpuMs)}, peak RSS ${fmtRss(c.peakRssKb)})`);
      if (!keep) fs.rmSync(target, { recursive: true, force: true });
    };
    for (let i = 0; i < runs; i++) {
      const order: Array<'local' | 's3'> = i % 2 === 0 ? ['local', 's3'] : ['s3', 'local'];
      for (const s of order) await once(s, i);
    }
    // The download alone: one plain GET streamed into the file (as before) vs 4 ranged parts of 8 MiB, interleaved.
    const dlChild = siblingPath(import.meta.url, 'children', 'restore-remote-download.ts');
    const dlArgs = ['--key', `archives/${a.archiveId}.bri`, '--size', String(a.bytes), '--to', path.join(root, 'download.bin'), ...common];
    const downloads: Record<'one' | 'parallel', Array<ChildRun<DownloadChildResult>>> = { one: [], parallel: [] };
    for (let i = 0; i < runs; i++) {
      for (const mode of i % 2 === 0 ? (['one', 'parallel'] as const) : (['parallel', 'one'] as const)) {
        const extra = mode === 'one' ? ['--parts', '1', '--part-mib', String(Math.ceil(a.bytes / MIB) + 1)] : ['--parts', '4', '--part-mib', '8'];
        const c = await runNodeChild<DownloadChildResult>(dlChild, [...dlArgs, ...extra]);
        downloads[mode].push(c);
        fs.rmSync(path.join(root, 'download.bin'), { force: true });
      }
    }
    const mid = (xs: Array<ChildRun<DownloadChildResult>>): ChildRun<DownloadChildResult> => [...xs].sort((x, y) => x.result.ms - y.result.ms)[(xs.length - 1) >> 1]!;
    const dOne = mid(downloads.one);
    const dPar = mid(downloads.parallel);
    if (dOne.result.sha256 !== dPar.result.sha256) throw new Error('the two downloads differ');
    result.download = { oneGetMs: dOne.result.ms, parallelMs: dPar.result.ms, parallelParts: dPar.result.parts };
    const o = pickMedian(ours, serverCpu);
    const t = pickMedian(theirs, []);
    result.ours = o;
    result.theirs = t;
    const row: SummaryRow = {
      operation: `restore latest from S3 (loopback, parallel ranged GETs) vs from the local file, ${walMib} MiB WAL, level ${LEVEL}`,
      oursMs: o.ms,
      theirsMs: t.ms,
      ratio: ratio(o.ms, t.ms),
      cpuRatio: ratio(o.cpuMs, t.cpuMs),
      oursRssKb: o.peakRssKb,
      theirsRssKb: t.peakRssKb,
      target: TARGET,
    };
    result.summaryRows.push(row, {
      operation: `download of the ${fmtBytes(a.bytes)} archive from S3: ${dPar.result.parts} ranged parts, 4 in flight (ours) vs one plain GET (theirs)`,
      oursMs: dPar.result.ms,
      theirsMs: dOne.result.ms,
      ratio: ratio(dPar.result.ms, dOne.result.ms),
      cpuRatio: ratio(dPar.result.cpuMs, dOne.result.cpuMs),
      oursRssKb: dPar.peakRssKb,
      theirsRssKb: dOne.peakRssKb,
      target: 'n/a (figure)',
    });
    log('');
    log(
      formatTable(
        ['operation', 'S3 (ours)', 'local (theirs)', 'ratio', 'CPU S3 / local', 'peak RSS S3 / local', 'target'],
        [[`restore latest, ${walMib} MiB WAL`, fmtMs(o.ms), fmtMs(t.ms), fmtRatio(o.ms, t.ms), `${fmtMs(o.cpuMs)} / ${fmtMs(t.cpuMs)} (${fmtRatio(o.cpuMs, t.cpuMs)})`, `${fmtRss(o.peakRssKb)} / ${fmtRss(t.peakRssKb)}`, TARGET]],
      ),
    );
    const dl = o.marks.download;
    const dlMs = dl !== undefined && o.marks.write !== undefined ? o.marks.write - dl : null;
    log(
      `S3 runs ${o.runsMs.map(fmtMs).join(', ')}; local runs ${t.runsMs.map(fmtMs).join(', ')}. ` +
        `Listing and plan: ${fmtMs(o.marks.beforeRestore ?? null)} from S3, ${fmtMs(t.marks.beforeRestore ?? null)} local. ` +
        `${dlMs !== null && result.archive ? `Download of the ${fmtBytes(result.archive.bytes)} archive (parallel ranged GETs, hashed, fsynced): ${fmtMs(dlMs)} (${(result.archive.bytes / 1e6 / (dlMs / 1000)).toFixed(0)} MB/s). ` : ''}` +
        `Download alone: ${dPar.result.parts} ranged parts ${fmtMs(dPar.result.ms)} vs one GET ${fmtMs(dOne.result.ms)} (peak RSS ${fmtRss(dPar.peakRssKb)} / ${fmtRss(dOne.peakRssKb)}). ` +
        `s3rver's own CPU in the median S3 run: ${o.serverCpuMs !== undefined ? fmtMs(o.serverCpuMs) : 'n/a'} (not in the CPU ratio).`,
    );
  } catch (err) {
    result.error = (err as Error).stack ?? String(err);
    log(`restore-remote bench failed: ${(err as Error).message}`);
  } finally {
    await server?.stop().catch(() => undefined);
    if (!keep) fs.rmSync(root, { recursive: true, force: true });
  }
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), RESULTS_FILE)}`);
  return result;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  runRestoreRemoteBench({ argv: process.argv.slice(2) }).then(
    (r) => {
      if (r.error !== undefined) process.exitCode = 1;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
