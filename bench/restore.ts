/**
 * The restore benchmark: our restore (`openRestore({ dataDir }).fromLatest()` and
 * `.toTimestamp(T)` at the middle of the archive's time range, each in a child process)
 * next to the same work done by hand with the standard tools on the same archive file
 * in the same run (`par2 repair` + `tar -xf` + `zstd -d` of every member + `sync`), and
 * the time to pick the archive for a time among many archives (1,000; --quick: 100).
 *
 * Run: `npm run bench -- --only restore [--quick] [--restore-mib 200] [--archives 1000]
 *      [--lookups 20] [--runs 1] [--tool-runs 3] [--restore-profile DIR]`, or `tsx bench/restore.ts [same flags]`.
 * Environment: BENCH_RESTORE_MIB, BENCH_RESTORE_ARCHIVES, BENCH_TMP (where data dirs go),
 * BENCH_KEEP=1 (keep them), BENCH_NODE_FLAGS (extra node flags for every child).
 * --restore-profile DIR: our two restore children run under `node --cpu-prof` (profiles in
 * DIR/latest and DIR/mid), and a self-time summary of each is printed (their times are then
 * slowed by the profiler).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchRoot, GNU_TIME_PATH, hasGnuTime, medianOf, toolVersion, runMeasured, runNodeChild, siblingPath, type ChildRun, machineInfo, type MachineInfo } from './lib/measure.js';
import { fmtBytes, fmtInt, fmtMs, fmtRatio, fmtRss, formatTable, ratio } from './lib/table.js';
import { generateWal, walFiles } from './lib/walgen.js';
import type { SummaryRow } from './lib/summary.js';
import { flag, positive, positiveInt } from './lib/args.js';
import { openFigures, restoreSummaryRows, workingDb, workingDbLine, type OpenFigures, type WorkingDbFigures } from './restore-figures.js';

const MIB = 1024 * 1024;
export const DEFAULT_RESTORE_MIB = 200;
export const QUICK_RESTORE_MIB = 20;
export const DEFAULT_ARCHIVES = 1000;
export const QUICK_ARCHIVES = 100;
/** Operations written before each of the many small archives. */
const LINES_PER_SMALL_ARCHIVE = 20;
/** zstd level of the big archive: 3, to keep the setup short (our default is 19). */
const SETUP_LEVEL = 3;
const CALIBRATION_LINES = 20_000;

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_FILE = path.join(REPO_ROOT, '.bench', 'restore.json');

export interface RestoreBenchOptions {
  /** Size of the generated WAL in MiB. Default 200 (quick: 20). */
  walMib?: number;
  /** How many small archives for the lookup. Default 1,000 (quick: 100). */
  archives?: number;
  /** Random times looked up (the median is kept; one more first call is reported apart). Default 20. */
  lookups?: number;
  /** Runs of each of our restores (median kept). Default 1. */
  runs?: number;
  /** Runs of each tool pipeline (median kept). Default 3. */
  toolRuns?: number;
  /** Time the pick among many archives (default true; bench/run.ts does it at one size only). */
  lookup?: boolean;
  /** Profile our restore children with --cpu-prof into this directory. */
  profileDir?: string;
  quick?: boolean;
  log?: (line: string) => void;
}

interface SetupBigResult {
  createMs: number;
  archiveId: string;
  file: string;
  bytes: number;
  level: number;
  errorCorrection: { enabled: boolean; algorithm: string | null; redundancy: number; blockSize: number | null; recoveryBlockCount: number | null };
  walLines: number;
  walBytes: number;
  segments: Array<{ segment: string; entries: number; firstTimestamp: number | null; lastTimestamp: number | null; originalSize: number }>;
  timeRange: { start: number; end: number; sealedAt: number; walLines: { start: number; end: number } };
  documentsAtSnapshot: number | null;
  maxRssKb: number;
}

interface SetupManyResult {
  totalMs: number;
  count: number;
  linesPerArchive: number;
  archiveFiles: number;
  bytes: number;
  createMsMedian: number;
  createMsMax: number;
  createMsSum: number;
  createMsByTenth: number[];
  maxRssKb: number;
}

interface RestoreChildResult {
  restoreMs: number;
  cpuMs: number;
  marks: {
    beforeRestore?: number;
    afterSnapshotRestore?: number;
    afterRestore?: number;
    recovery?: number;
    fsync?: number;
    swap?: number;
    firstVerifyMs: number | null;
    lastVerifyMs: number | null;
    firstSegmentMs: number | null;
    lastSegmentMs: number | null;
  };
  segmentsWritten: number;
  linesRestored: number;
  lastLine: number;
  lastTimestamp: number | null;
  documents: number | null;
  collections: number | null;
  archiveId: string;
  untilTimestamp: number | null;
  rssAtEndKb: number;
  maxRssKb: number;
}

interface Stat {
  median: number;
  min: number;
  max: number;
}

interface LookupChildResult {
  archives: number;
  unreadable: number;
  samples: number;
  firstScanMs: number;
  firstFindMs: number;
  firstPlanMs: number;
  findMs: Stat;
  planMs: Stat;
  scanMs: Stat;
  pureFindMs: Stat;
  maxRssKb: number;
}

/** Our figures for one restore. */
export interface OursFigures {
  mode: 'latest' | 'timestamp';
  timestamp: number | null;
  /** Timed inside the child, around fromLatest() / toTimestamp(). */
  ms: number;
  runsMs: number[];
  childWallMs: number;
  cpuMs: number;
  peakRssKb: number | null;
  rssSource: string;
  linesRestored: number;
  bytesRestored: number;
  documents: number | null;
  /** ms spent in each part, from the child's hooks and progress events. */
  phasesMs: Record<string, number | null>;
  /** The store's first open of the restored directory (latest only): its time and the state's own heap. */
  open: OpenFigures | null;
}

/** A tool pipeline's figures. */
export interface TheirsFigures {
  label: string;
  script: string;
  ms: number | null;
  runsMs: number[];
  /** Largest per-step peak: the steps run one after the other; a pipe's processes (zstd | awk) add up. */
  peakRssKb: number | null;
  /**
   * Per tool: elapsed, CPU, peak RSS (GNU time %e %U %S %M); a loop's steps are added up by tool (RSS: the max).
   * The processes of a pipe (zstd | awk) run at the same time: their elapsed times overlap.
   */
  perProcess: Record<string, { ms: number; cpuMs: number; rssKb: number }>;
  cpuMs: number | null;
  /** The pipeline's time without its `sync` step. */
  msWithoutSync: number | null;
  linesRestored: number | null;
  bytesRestored: number | null;
  error?: string;
}

export interface RestoreRow {
  operation: string;
  ours: OursFigures | { error: string };
  theirs: TheirsFigures | null;
  timeRatio: number | null;
  cpuRatio: number | null;
  rssRatio: number | null;
}

export interface LookupFigures {
  archives: number;
  linesPerArchive: number;
  setupMs: number;
  setupChildWallMs: number;
  createMsMedian: number;
  createMsMax: number;
  createMsByTenth: number[];
  archiveBytes: number;
  lookups: number;
  firstFindMs: number;
  firstPlanMs: number;
  findMs: Stat;
  planMs: Stat;
  scanMs: Stat;
  pureFindMs: Stat;
  msPerManifest: number;
  peakRssKb: number | null;
}

export interface RestoreBenchResult {
  startedAt: string;
  machine: MachineInfo;
  tools: Record<string, string>;
  options: { walMib: number; archives: number; lookups: number; runs: number; toolRuns: number; quick: boolean; profileDir: string | null };
  childBaselineRssKb: number | null;
  toolStartupMs: number | null;
  loadAverages: Array<{ at: string; load: number[] }>;
  wal: { lines: number; bytes: number; segments: number; generateMs: number } | null;
  archive: {
    archiveId: string;
    bytes: number;
    level: number;
    errorCorrection: SetupBigResult['errorCorrection'];
    createMs: number;
    timeRange: SetupBigResult['timeRange'];
    midTimestamp: number;
  } | null;
  rows: RestoreRow[];
  /** Time to a working database: restore + first open, ours against the tools' unpacking + the store's open of it. */
  workingDb: WorkingDbFigures | null;
  summaryRows: SummaryRow[];
  lookup: LookupFigures | { error: string } | null;
  profiles: Record<string, string>;
}

/** Options from flags and the environment; `quick` from the caller (bench/run.ts) or `--quick`. */
export function resolveRestoreBenchOptions(argv: readonly string[], quick = argv.includes('--quick'), env: NodeJS.ProcessEnv = process.env): RestoreBenchOptions {
  const opts: RestoreBenchOptions = { quick };
  const walMib = positive(flag(argv, 'restore-mib'), '--restore-mib') ?? positive(env.BENCH_RESTORE_MIB, 'BENCH_RESTORE_MIB');
  const archives = positiveInt(flag(argv, 'archives'), '--archives') ?? positiveInt(env.BENCH_RESTORE_ARCHIVES, 'BENCH_RESTORE_ARCHIVES');
  const lookups = positiveInt(flag(argv, 'lookups'), '--lookups');
  const runs = positiveInt(flag(argv, 'runs'), '--runs');
  const toolRuns = positiveInt(flag(argv, 'tool-runs'), '--tool-runs');
  const profileDir = flag(argv, 'restore-profile');
  if (walMib !== undefined) opts.walMib = walMib;
  if (archives !== undefined) opts.archives = archives;
  if (lookups !== undefined) opts.lookups = lookups;
  if (runs !== undefined) opts.runs = runs;
  if (toolRuns !== undefined) opts.toolRuns = toolRuns;
  if (profileDir !== undefined && profileDir !== '') opts.profileDir = path.resolve(profileDir);
  return opts;
}

/**
 * Runs a shell script (dash) `runs` times, each after `prepare()` (not timed), and keeps the
 * median wall time of the whole `sh -c`. Each command written `T name cmd ...` has its own
 * elapsed time, CPU and peak RSS recorded by GNU time in `$R.name` (without GNU time, `T` is empty).
 * Names `a-b` are one group of processes running together (a pipe): their RSS adds up.
 */
async function measureScript(
  label: string,
  script: string,
  cwd: string,
  env: Record<string, string>,
  runs: number,
  prepare: () => void,
  check: () => { lines: number; bytes: number },
): Promise<TheirsFigures> {
  const gnu = hasGnuTime();
  const rssPrefix = path.join(os.tmpdir(), `bri-bench-restore-rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const fullScript = `set -e\n${gnu ? `T() { n=$1; shift; ${GNU_TIME_PATH} -f '%e %U %S %M' -o "$R.$n" "$@"; }` : 'T() { shift; "$@"; }'}\n${script}`;
  const base: TheirsFigures = { label, script, ms: null, runsMs: [], peakRssKb: null, perProcess: {}, cpuMs: null, msWithoutSync: null, linesRestored: null, bytesRestored: null };
  try {
    let raw: Record<string, { ms: number; cpuMs: number; rssKb: number }> = {};
    const r = await medianOf(runs, async () => {
      prepare();
      const run = await runMeasured('sh', ['-c', fullScript], { cwd, env: { ...process.env, ...env, R: rssPrefix }, captureStdout: false });
      raw = {};
      for (const f of fs.readdirSync(path.dirname(rssPrefix))) {
        if (!f.startsWith(`${path.basename(rssPrefix)}.`)) continue;
        const file = path.join(path.dirname(rssPrefix), f);
        const m = /(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+)\s*$/.exec(fs.readFileSync(file, 'utf8').trim());
        if (m) raw[f.slice(path.basename(rssPrefix).length + 1)] = { ms: Number(m[1]) * 1000, cpuMs: (Number(m[2]) + Number(m[3])) * 1000, rssKb: Number(m[4]) };
        fs.rmSync(file, { force: true });
      }
      return run;
    });
    if (r.exitCode !== 0) return { ...base, runsMs: r.runsMs, error: `exit code ${r.exitCode}: ${r.stderr.trim().slice(-400)}` };
    const checked = check();
    const perProcess: TheirsFigures['perProcess'] = {};
    const groups = new Map<string, number>();
    let cpuMs: number | null = null;
    let syncMs = 0;
    for (const [name, v] of Object.entries(raw)) {
      // "cut3-zstd": group "cut3" (a pipe), tool "zstd"; "zstd.snap": group "zstd.snap", tool "zstd"; "par2": both "par2".
      const dash = name.indexOf('-');
      const group = dash >= 0 ? name.slice(0, dash) : name;
      const tool = (dash >= 0 ? name.slice(dash + 1) : name).split('.')[0]!;
      groups.set(group, (groups.get(group) ?? 0) + v.rssKb);
      const p = (perProcess[tool] ??= { ms: 0, cpuMs: 0, rssKb: 0 });
      p.ms += v.ms;
      p.cpuMs += v.cpuMs;
      p.rssKb = Math.max(p.rssKb, v.rssKb);
      cpuMs = (cpuMs ?? 0) + v.cpuMs;
      if (tool === 'sync') syncMs += v.ms;
    }
    return {
      ...base,
      ms: r.wallMs,
      runsMs: r.runsMs,
      peakRssKb: groups.size > 0 ? Math.max(...groups.values()) : r.peakRssKb,
      perProcess,
      cpuMs,
      msWithoutSync: gnu ? r.wallMs - syncMs : null,
      linesRestored: checked.lines,
      bytesRestored: checked.bytes,
    };
  } catch (err) {
    return { ...base, error: (err as Error).message };
  }
}

/** Lines and bytes of the `*.wal` files in a directory (newline count, as `wc -l`). */
function countWal(dir: string): { lines: number; bytes: number; files: string[] } {
  let lines = 0;
  let bytes = 0;
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => /^\d{6,}\.wal$/.test(n)).sort() : [];
  for (const n of files) {
    const buf = fs.readFileSync(path.join(dir, n));
    bytes += buf.length;
    for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) lines++;
  }
  return { lines, bytes, files };
}

/** Whether every restored segment equals the start of the source segment of the same name (cmp). */
function sameAsSource(restoredWalDir: string, sourceWalDir: string, files: string[], whole: boolean): string | null {
  for (const n of files) {
    const a = path.join(restoredWalDir, n);
    const b = path.join(sourceWalDir, n);
    const args = whole ? [a, b] : ['-n', String(fs.statSync(a).size), a, b];
    const r = spawnSync('cmp', ['-s', ...args]);
    if (r.status !== 0) return `${n} differs from the source segment`;
  }
  return null;
}

function phases(r: RestoreChildResult): Record<string, number | null> {
  const m = r.marks;
  const d = (a: number | null | undefined, b: number | null | undefined): number | null => (a == null || b == null ? null : b - a);
  if (m.recovery != null) {
    // One pass: checks, replay and writing together, then PAR2 audit, fsync, swap.
    return {
      'scan + plan + lock': m.beforeRestore ?? null,
      'read + check + replay + write': d(m.beforeRestore, m.recovery),
      'PAR2 audit': d(m.recovery, m.fsync),
      fsync: d(m.fsync, m.swap),
      swap: d(m.swap, m.afterRestore),
    };
  }
  return {
    'scan + plan + lock': m.beforeRestore ?? null,
    verify: d(m.beforeRestore, m.lastVerifyMs),
    'write data dir': d(m.lastVerifyMs, m.lastSegmentMs),
    'fsync + validate + swap': d(m.lastSegmentMs, m.afterRestore),
  };
}

function phaseText(p: Record<string, number | null>): string {
  return Object.entries(p)
    .map(([k, v]) => `${k} ${fmtMs(v)}`)
    .join(', ');
}

function theirsLine(t: TheirsFigures): string {
  if (t.ms === null) return `  theirs ${t.label}: FAILED (${t.error ?? 'unknown'})`;
  const procs = Object.entries(t.perProcess)
    .map(([n, v]) => `${n} ${fmtMs(v.ms)} (CPU ${fmtMs(v.cpuMs)}, ${fmtRss(v.rssKb)})`)
    .join(', ');
  return (
    `  theirs ${t.label}: ${fmtMs(t.ms)}${t.runsMs.length > 1 ? ` (median of ${t.runsMs.map((m) => fmtMs(m)).join(', ')})` : ''}; ` +
    `without the sync step ${fmtMs(t.msWithoutSync)}; CPU ${fmtMs(t.cpuMs)}; peak RSS ${fmtRss(t.peakRssKb)}; ` +
    `${fmtInt(t.linesRestored ?? 0)} lines, ${fmtBytes(t.bytesRestored ?? 0)} written${procs ? `; per step: ${procs}` : ''}`
  );
}

/** Runs the restore benchmark, prints its figures and a table, and writes `.bench/restore.json`. */
export async function runRestoreBench(opts: RestoreBenchOptions = {}): Promise<RestoreBenchResult> {
  const log = opts.log ?? ((s: string) => console.log(`[restore] ${s}`));
  const quick = opts.quick ?? false;
  const walMib = opts.walMib ?? (quick ? QUICK_RESTORE_MIB : DEFAULT_RESTORE_MIB);
  const archivesWanted = opts.archives ?? (quick ? QUICK_ARCHIVES : DEFAULT_ARCHIVES);
  const lookups = opts.lookups ?? 20;
  const runs = opts.runs ?? 1;
  const toolRuns = opts.toolRuns ?? 3;
  const gnuTime = hasGnuTime();
  const root = benchRoot('restore');
  const cpus = os.cpus();
  const tools: Record<string, string> = {
    par2: toolVersion('par2', ['-V']),
    tar: toolVersion('tar', ['--version']),
    zstd: toolVersion('zstd', ['--version']),
    awk: fs.existsSync('/usr/bin/awk') ? `/usr/bin/awk -> ${fs.realpathSync('/usr/bin/awk')}` : 'unknown',
    sh: fs.existsSync('/bin/sh') ? `/bin/sh -> ${fs.realpathSync('/bin/sh')}` : 'unknown',
  };
  const result: RestoreBenchResult = {
    startedAt: new Date().toISOString(),
    machine: machineInfo(root, gnuTime),
    tools,
    options: { walMib, archives: archivesWanted, lookups, runs, toolRuns, quick, profileDir: opts.profileDir ?? null },
    childBaselineRssKb: null,
    toolStartupMs: null,
    loadAverages: [],
    wal: null,
    archive: null,
    rows: [],
    workingDb: null,
    summaryRows: [],
    lookup: null,
    profiles: {},
  };
  const noteLoad = (at: string): string => {
    const load = os.loadavg().map((l) => Math.round(l * 100) / 100);
    result.loadAverages.push({ at, load });
    return `load average ${load.join(' ')} (${cpus.length} CPUs)`;
  };
  const setupChild = siblingPath(import.meta.url, 'children', 'restore-setup.ts');
  const runChild = siblingPath(import.meta.url, 'children', 'restore-run.ts');
  const lookupChild = siblingPath(import.meta.url, 'children', 'restore-lookup.ts');
  const keep = process.env.BENCH_KEEP === '1';
  log(
    `${cpus.length} CPU(s) ${result.machine.cpuModel}, node ${process.version}; ${tools.par2}; ${tools.zstd}; ${tools.tar}; data in ${root}; ` +
      `peak RSS from ${gnuTime ? "GNU time (/usr/bin/time -f '%M')" : "the children's process.resourceUsage().maxRSS (standard tools: n/a)"}; ${noteLoad('start')}`,
  );
  if (spawnSync('par2', ['-V'], { stdio: 'ignore' }).status !== 0) throw new Error('par2 (par2cmdline) is not installed: apt-get install par2');

  try {
    const startup = await medianOf(3, () => runMeasured('sh', ['-c', 'true'], { captureStdout: false }));
    result.toolStartupMs = startup.wallMs;
    const baseline = await runNodeChild<{ maxRssKb: number }>(runChild, ['--baseline']);
    result.childBaselineRssKb = baseline.peakRssKb;
    const calDir = path.join(root, 'calibration');
    const cal = generateWal({ dataDir: calDir, lines: CALIBRATION_LINES });
    const bytesPerLine = cal.bytes / cal.lines;
    fs.rmSync(calDir, { recursive: true, force: true });
    log(
      `\`sh -c true\` start-up (in every "theirs" figure): ${fmtMs(startup.wallMs)}; our restore child with its modules loaded and nothing done: ` +
        `peak RSS ${fmtRss(baseline.peakRssKb)}, wall ${fmtMs(baseline.wallMs)}`,
    );

    // 1. The data directory and its archive (setup, not measured against anything).
    const dataDir = path.join(root, 'data');
    const lines = Math.ceil((walMib * MIB * 1.01) / bytesPerLine);
    const gen = generateWal({ dataDir, lines });
    const wal = walFiles(dataDir);
    result.wal = { lines, bytes: wal.bytes, segments: wal.files.length, generateMs: gen.ms };
    log(`generated ${fmtInt(lines)} lines in ${fmtMs(gen.ms)}: ${fmtBytes(wal.bytes)} (${fmtInt(wal.bytes)} B) in ${wal.files.length} segment(s)`);
    const setup = await runNodeChild<SetupBigResult>(setupChild, ['--mode', 'big', '--dir', dataDir, '--level', String(SETUP_LEVEL)]);
    const a = setup.result;
    if (a.walLines !== lines) throw new Error(`the archive holds ${a.walLines} lines, the WAL ${lines}`);
    const midTimestamp = Math.floor((a.timeRange.start + a.timeRange.end) / 2);
    result.archive = { archiveId: a.archiveId, bytes: a.bytes, level: a.level, errorCorrection: a.errorCorrection, createMs: a.createMs, timeRange: a.timeRange, midTimestamp };
    log(
      `archive (setup): new ArchiveApi(offlineHost(dataDir, undefined), { compression: { level: ${SETUP_LEVEL} } }).create() in a child, ${fmtMs(a.createMs)} ` +
        `(level ${SETUP_LEVEL} to keep the setup short; our default is 19): ${fmtBytes(a.bytes)} (${fmtInt(a.bytes)} B), ${a.segments.length} WAL member(s), ` +
        `PAR2 ${a.errorCorrection.enabled ? `${Math.round(a.errorCorrection.redundancy * 100)}% (${a.errorCorrection.recoveryBlockCount} recovery blocks of ${a.errorCorrection.blockSize} B)` : 'none'}; ` +
        `time range ${new Date(a.timeRange.start).toISOString()} .. ${new Date(a.timeRange.end).toISOString()}, mid-point T = ${midTimestamp} (${new Date(midTimestamp).toISOString()})`,
    );
    const sourceWal = path.join(dataDir, 'wal');
    const id = a.archiveId;

    // 2. Theirs: par2 repair (writes <id>.tar, the protected prefix, from the intact blocks) + tar -xf + zstd -d, fsync.
    const work = path.join(root, 'theirs');
    const prepare = (): void => {
      fs.rmSync(work, { recursive: true, force: true });
      fs.mkdirSync(work, { recursive: true });
      fs.copyFileSync(a.file, path.join(work, `${id}.par2`));
      fs.copyFileSync(a.file, path.join(work, `${id}.bri`));
    };
    const par2AndTar = [`T par2 par2 repair -q -q "$ID.par2" "$ID.bri" > /dev/null`, 'mkdir x', `T tar tar -xf "$ID.tar" -C x --exclude=recovery.par2`, 'cd x'];
    const latestScript = [...par2AndTar, 'T zstd zstd -dq snapshot.jss.zst wal/*.zst', 'T sync sync snapshot.jss wal/*.wal'].join('\n');
    // As docs/restore-by-hand.md: cut each segment at the first line later than T, then stop.
    const cutScript = [
      ...par2AndTar,
      'T zstd.snap zstd -dq snapshot.jss.zst',
      'stop=0; i=0',
      'for f in wal/*.wal.zst; do',
      '  i=$((i+1)); seg="${f%.zst}"',
      '  if [ "$stop" = 0 ]; then',
      `    T "cut$i-zstd" zstd -dcq "$f" | T "cut$i-awk" awk -F'|' -v T="$TS" '$1 > T { exit 3 } { print }' > "$seg" || stop=1`,
      '  fi',
      '  [ -s "$seg" ] || rm -f "$seg"',
      'done',
      'T sync sync snapshot.jss wal/*.wal',
    ].join('\n');
    const xWal = path.join(work, 'x', 'wal');
    const checkTheirs = (whole: boolean) => (): { lines: number; bytes: number } => {
      const c = countWal(xWal);
      const problem = sameAsSource(xWal, sourceWal, c.files, whole);
      if (problem) throw new Error(`theirs: ${problem}`);
      return { lines: c.lines, bytes: c.bytes };
    };
    const latestLabel = 'par2 repair + tar -xf + zstd -d (every member) + sync';
    const cutLabel = 'par2 repair + tar -xf + zstd -dc | awk cut at T + sync';
    log(
      `"theirs" = one \`sh -c\` script timed whole, on copies of the same archive file (${id}.par2 and ${id}.bri in a temp dir, copied before each run, not timed): ` +
        `\`par2 repair\` (par2 verify would say "repair required": the protected file, ${id}.tar, is not there by that name; repair writes it from the intact blocks of ${id}.bri ` +
        `after checking every block's MD5/CRC32), \`tar -xf ${id}.tar --exclude=recovery.par2\`, \`zstd -dq snapshot.jss.zst wal/*.zst\`, then \`sync\` of the files written ` +
        `(an fsync of each, as our restore does). No sha256sum -c, no chain check, no validation.`,
    );

    // 3. Ours.
    const oursRun = async (mode: 'latest' | 'timestamp', ts: number | null, tag: string): Promise<OursFigures> => {
      const childRuns: Array<ChildRun<RestoreChildResult>> = [];
      const opens: OpenFigures[] = [];
      let restored = { lines: 0, bytes: 0 };
      for (let i = 0; i < runs; i++) {
        const target = path.join(root, `ours-${tag}-${i}`);
        const nodeFlags = opts.profileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${path.join(opts.profileDir, tag)}`] : [];
        const c = await runNodeChild<RestoreChildResult>(runChild, ['--dir', dataDir, '--target', target, '--mode', mode, ...(ts !== null ? ['--ts', String(ts)] : [])], { nodeFlags });
        const cw = countWal(path.join(target, 'wal'));
        if (cw.lines !== c.result.linesRestored) throw new Error(`ours ${tag}: the restored wal/ holds ${cw.lines} lines, the restore says ${c.result.linesRestored}`);
        const problem = sameAsSource(path.join(target, 'wal'), sourceWal, cw.files, mode === 'latest');
        if (problem) throw new Error(`ours ${tag}: ${problem}`);
        if (mode === 'latest' && cw.lines !== lines) throw new Error(`ours ${tag}: ${cw.lines} lines restored, the WAL has ${lines}`);
        restored = { lines: cw.lines, bytes: cw.bytes };
        // Time to a working database: the first open of what was restored (a snapshot at the last line: nothing replayed).
        if (mode === 'latest') opens.push(await openFigures(target));
        childRuns.push(c);
        if (!keep) for (const e of fs.readdirSync(root)) if (e.startsWith(`ours-${tag}-${i}`)) fs.rmSync(path.join(root, e), { recursive: true, force: true });
      }
      const sorted = [...childRuns].sort((x, y) => x.result.restoreMs - y.result.restoreMs);
      const pick = sorted[(sorted.length - 1) >> 1]!;
      const r = pick.result;
      return {
        mode,
        timestamp: ts,
        ms: r.restoreMs,
        runsMs: childRuns.map((c) => c.result.restoreMs),
        childWallMs: pick.wallMs,
        cpuMs: r.cpuMs,
        peakRssKb: pick.peakRssKb,
        rssSource: pick.rssSource,
        linesRestored: restored.lines,
        bytesRestored: restored.bytes,
        documents: r.documents,
        phasesMs: phases(r),
        open: opens[childRuns.indexOf(pick)] ?? null,
      };
    };
    const oursLine = (label: string, o: OursFigures): string =>
      `  ours ${label}: ${fmtMs(o.ms)}${o.runsMs.length > 1 ? ` (median of ${o.runsMs.map((m) => fmtMs(m)).join(', ')})` : ''} ` +
      `= ${(o.bytesRestored / 1e6 / (o.ms / 1000)).toFixed(1)} MB/s written; CPU ${fmtMs(o.cpuMs)}; ${fmtInt(o.linesRestored)} lines, ${fmtBytes(o.bytesRestored)}, ` +
      `${o.documents === null ? '?' : fmtInt(o.documents)} documents; child wall ${fmtMs(o.childWallMs)}, peak RSS ${fmtRss(o.peakRssKb)} (${o.rssSource})\n` +
      `    where the time goes (hooks/progress events): ${phaseText(o.phasesMs)}`;
    const attempt = async (label: string, fn: () => Promise<OursFigures>): Promise<OursFigures | { error: string }> => {
      try {
        const o = await fn();
        log(oursLine(label, o));
        return o;
      } catch (err) {
        log(`  ours ${label} FAILED: ${(err as Error).message}`);
        return { error: (err as Error).message };
      }
    };
    const row = (operation: string, ours: OursFigures | { error: string }, theirs: TheirsFigures): RestoreRow => {
      const o = 'error' in ours ? null : ours;
      return { operation, ours, theirs, timeRatio: ratio(o?.ms ?? null, theirs.ms), cpuRatio: ratio(o?.cpuMs ?? null, theirs.cpuMs), rssRatio: ratio(o?.peakRssKb ?? null, theirs.peakRssKb) };
    };
    log(
      `"ours" = openRestore({ dataDir }).fromLatest({ targetDir }) / .toTimestamp(T, { targetDir }) into a fresh directory, in a child, timed inside around the call: ` +
        `catalog scan + plan, one pass over the archive (sha256 of every member, decompress once, hash chain, counts, replay) writing the data directory beside the target ` +
        `with a snapshot at its last line, audit of the PAR2 recovery data, fsync, swap.`,
    );

    log(`--- latest (${noteLoad('latest')})`);
    const tLatest = await measureScript(latestLabel, latestScript, work, { ID: id }, toolRuns, prepare, checkTheirs(true));
    log(theirsLine(tLatest));
    // What the tools unpacked is a data directory too: the store's open of it replays every line above the archive's snapshot.
    const theirsOpen = await openFigures(path.join(work, 'x')).catch((err: Error) => ({ error: err.message }));
    const oLatest = await attempt('fromLatest()', () => oursRun('latest', null, 'latest'));
    result.rows.push(row('restore latest vs par2+tar+zstd -d', oLatest, tLatest));
    result.workingDb = workingDb(oLatest, tLatest, theirsOpen);
    log(workingDbLine(result.workingDb));

    log(`--- mid-point T = ${midTimestamp} (${noteLoad('mid')})`);
    const tCut = await measureScript(cutLabel, cutScript, work, { ID: id, TS: String(midTimestamp) }, toolRuns, prepare, checkTheirs(false));
    log(theirsLine(tCut));
    const oMid = await attempt(`toTimestamp(${midTimestamp})`, () => oursRun('timestamp', midTimestamp, 'mid'));
    if (!('error' in oMid) && tCut.linesRestored !== null && tCut.linesRestored !== oMid.linesRestored) {
      log(`  WARNING: ours restored ${oMid.linesRestored} lines up to T, the awk cut ${tCut.linesRestored}`);
    }
    result.rows.push(row('restore mid-point vs par2+tar+zstd -d (whole)', oMid, tLatest));
    result.rows.push(row('restore mid-point vs par2+tar+zstd|awk cut', oMid, tCut));
    if (!keep) fs.rmSync(work, { recursive: true, force: true });

    if (opts.profileDir !== undefined) {
      for (const tag of ['latest', 'mid']) {
        const dir = path.join(opts.profileDir, tag);
        const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f)) : [];
        if (files.length === 0) continue;
        const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), siblingPath(import.meta.url, 'tools', 'cpuprofile-top.ts'), ...files, '--top', '25'], { encoding: 'utf8' });
        result.profiles[tag] = r.stdout;
        log(`CPU profile of our ${tag} restore (${dir}; figures above are slowed by the profiler):\n${r.stdout}`);
      }
    }
    if (!keep) fs.rmSync(dataDir, { recursive: true, force: true });

    // 4. Picking the archive for a time among many.
    if (opts.lookup !== false) log(`--- lookup among ${fmtInt(archivesWanted)} archives (${noteLoad('lookup')})`);
    if (opts.lookup !== false) try {
      const manyDir = path.join(root, 'many');
      const s = await runNodeChild<SetupManyResult>(setupChild, ['--mode', 'many', '--dir', manyDir, '--count', String(archivesWanted), '--lines', String(LINES_PER_SMALL_ARCHIVE), '--level', '1'], {
        timeoutMs: 4 * 60 * 60 * 1000,
      });
      if (s.result.archiveFiles !== archivesWanted) throw new Error(`${s.result.archiveFiles} archive files, ${archivesWanted} wanted`);
      log(
        `setup: ${fmtInt(archivesWanted)} chained archives of one instance in one child (createDB, 'batched' fsync; ${LINES_PER_SMALL_ARCHIVE} operations, then ` +
          `db.archive.create() with { compression: { level: 1 }, errorCorrection: { enabled: false } }, ${fmtInt(archivesWanted)} times): ${fmtMs(s.result.totalMs)} ` +
          `(child wall ${fmtMs(s.wallMs)}); one create: median ${fmtMs(s.result.createMsMedian)}, max ${fmtMs(s.result.createMsMax)}; ` +
          `median by tenth of the loop: ${s.result.createMsByTenth.map((m) => fmtMs(m)).join(', ')}; ${fmtBytes(s.result.bytes)} of archives`,
      );
      const l = await runNodeChild<LookupChildResult>(lookupChild, ['--dir', manyDir, '--samples', String(lookups), '--seed', '1']);
      const x = l.result;
      const lookup: LookupFigures = {
        archives: x.archives,
        linesPerArchive: LINES_PER_SMALL_ARCHIVE,
        setupMs: s.result.totalMs,
        setupChildWallMs: s.wallMs,
        createMsMedian: s.result.createMsMedian,
        createMsMax: s.result.createMsMax,
        createMsByTenth: s.result.createMsByTenth,
        archiveBytes: s.result.bytes,
        lookups,
        firstFindMs: x.firstFindMs,
        firstPlanMs: x.firstPlanMs,
        findMs: x.findMs,
        planMs: x.planMs,
        scanMs: x.scanMs,
        pureFindMs: x.pureFindMs,
        msPerManifest: x.scanMs.median / x.archives,
        peakRssKb: l.peakRssKb,
      };
      result.lookup = lookup;
      const st = (v: Stat): string => `median ${fmtMs(v.median)} (min ${fmtMs(v.min)}, max ${fmtMs(v.max)})`;
      log(
        `  openRestore({ dataDir }).findForTimestamp(T), ${lookups} random T inside the archives' ranges: ${st(x.findMs)} per lookup (first call ${fmtMs(x.firstFindMs)})\n` +
          `  .plan({ kind: 'timestamp', timestamp: T }): ${st(x.planMs)} per lookup (first call ${fmtMs(x.firstPlanMs)})\n` +
          `  of which: scanArchiveDir() alone, one read of all ${fmtInt(x.archives)} manifests (no index in the catalog): ${st(x.scanMs)} = ${fmtMs(lookup.msPerManifest)} per manifest; ` +
          `the pick itself (restore-plan findForTimestamp over the list in memory): ${st(x.pureFindMs)}\n` +
          `  lookup child peak RSS ${fmtRss(l.peakRssKb)}; every answer checked (the archive found holds T)`,
      );
      if (!keep) fs.rmSync(manyDir, { recursive: true, force: true });
    } catch (err) {
      result.lookup = { error: (err as Error).message };
      log(`  lookup FAILED: ${(err as Error).message}`);
    }
  } finally {
    if (!keep) fs.rmSync(root, { recursive: true, force: true });
  }

  log(`end: ${noteLoad('end')}`);
  const tableRows = result.rows.map((r) => {
    const o = 'error' in r.ours ? null : r.ours;
    return [
      r.operation,
      o ? fmtMs(o.ms) : 'FAILED',
      fmtMs(r.theirs?.ms ?? null),
      fmtRatio(o?.ms ?? null, r.theirs?.ms ?? null),
      `${fmtMs(o?.cpuMs ?? null)} / ${fmtMs(r.theirs?.cpuMs ?? null)}`,
      fmtRatio(o?.cpuMs ?? null, r.theirs?.cpuMs ?? null),
      fmtRss(o?.peakRssKb ?? null),
      fmtRss(r.theirs?.peakRssKb ?? null),
      fmtRatio(o?.peakRssKb ?? null, r.theirs?.peakRssKb ?? null),
    ];
  });
  const lk = result.lookup;
  if (lk !== null && !('error' in lk)) {
    tableRows.push([`findForTimestamp among ${fmtInt(lk.archives)} archives`, fmtMs(lk.findMs.median), '-', '-', '-', '-', fmtRss(lk.peakRssKb), '-', '-']);
    tableRows.push([`plan(timestamp) among ${fmtInt(lk.archives)} archives`, fmtMs(lk.planMs.median), '-', '-', '-', '-', fmtRss(lk.peakRssKb), '-', '-']);
  }
  console.log('');
  console.log(formatTable(['operation', 'ours', 'theirs', 'ours/theirs', 'CPU ours / theirs', 'CPU ratio', 'peak RSS ours', 'theirs', 'RSS ours/theirs'], tableRows));
  console.log('');
  log(
    `WAL ${result.wal ? `${fmtBytes(result.wal.bytes)}, ${fmtInt(result.wal.lines)} lines` : '?'}; archive ${result.archive ? fmtBytes(result.archive.bytes) : '?'} at level ${SETUP_LEVEL}. ` +
      `"ours" peak RSS = the whole child (node; floor ${fmtRss(result.childBaselineRssKb)}); "theirs" = the largest step (par2, tar, zstd, sync run one after the other; zstd | awk added up).`,
  );
  result.summaryRows = restoreSummaryRows(result);
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
  log(`results written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  return result;
}

// `tsx bench/restore.ts [--quick] [--restore-mib 200] [--archives 1000]` runs it on its own.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runRestoreBench(resolveRestoreBenchOptions(process.argv.slice(2))).catch((err: unknown) => {
    console.error(err);
  });
}
