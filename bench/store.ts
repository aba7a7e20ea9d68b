/**
 * The store benchmark: write throughput ('batched' and 'always') and recovery
 * time + peak RSS, each next to `cat wal/* > /dev/null` and `wc -l wal/*` over
 * the same files, measured in the same run on the same machine.
 *
 * Run: `npm run bench -- --only store [--lines N] [--quick]`, or `tsx bench/store.ts [--lines N]`.
 * Environment: BENCH_STORE_LINES, BENCH_STORE_ALWAYS_LINES, BENCH_TMP (where data
 * dirs go, default the OS temp dir), BENCH_KEEP=1 (keep them), BENCH_NODE_FLAGS
 * (extra node flags for the children, e.g. "--cpu-prof --cpu-prof-dir=.bench/prof").
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchRoot, hasGnuTime, medianOf, runMeasured, runNodeChild, siblingPath, type ChildRun, type RunResult, machineInfo, type MachineInfo } from './lib/measure.js';
import { fmtBytes, fmtInt, fmtMs, fmtRatio, fmtRss, formatResultsTable, ratio, throughput, type TableRow } from './lib/table.js';
import { generateWal, walFiles } from './lib/walgen.js';

export interface StoreBenchOptions {
  /** Lines written with fsyncMode 'batched' and replayed by recovery. Default 1,000,000. */
  lines: number;
  /** Lines written with fsyncMode 'always'. Default 50,000. */
  alwaysLines?: number;
  /** Un-awaited writes issued together. Default 1000. */
  window?: number;
  /** Runs of each standard tool (the median is kept). Default 3. */
  toolRuns?: number;
  /** Where results are printed. Default console.log. */
  log?: (line: string) => void;
}

export const DEFAULT_STORE_LINES = 1_000_000;
export const DEFAULT_ALWAYS_LINES = 50_000;
export const QUICK_STORE_LINES = 100_000;
export const QUICK_ALWAYS_LINES = 5_000;
const DEFAULT_WINDOW = 1000;
const DEFAULT_TOOL_RUNS = 3;

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_FILE = path.join(REPO_ROOT, '.bench', 'store.json');

interface WriteChildResult {
  lines: number;
  fsyncMode: string;
  window: number;
  writeMs: number;
  flushMs: number;
  openMs: number;
  closeMs: number;
  totalLines: number;
  lastSegment: number;
  documents: number;
  batches: number;
  maxBatch: number;
  counts: Record<string, number>;
  maxRssKb: number;
}

interface RecoverChildResult {
  openMs: number;
  closeMs: number;
  totalLines: number;
  snapshotLine: number;
  documents: number;
  collections: number;
  rssAfterOpenKb: number;
  heapUsedAfterOpenKb: number;
  maxRssKb: number;
}

/** A standard tool's figures over the WAL files. */
export interface ToolFigures {
  command: string;
  ms: number | null;
  runsMs: number[];
  peakRssKb: number | null;
  error?: string;
}

export interface WalFigures {
  lines: number;
  bytes: number;
  segments: number;
}

export interface WriteFigures {
  fsyncMode: 'batched' | 'always';
  lines: number;
  window: number;
  ms: number;
  linesPerSec: number;
  mbPerSec: number;
  /** Write batches (one write(2), plus one fdatasync under 'always'): group commit at work. */
  batches: number;
  avgBatch: number;
  childWallMs: number;
  peakRssKb: number | null;
  rssSource: string;
  wal: WalFigures;
  cat: ToolFigures;
  wc: ToolFigures;
  ratioCat: number | null;
  ratioWc: number | null;
}

export interface RecoveryFigures {
  lines: number;
  ms: number;
  linesPerSec: number;
  mbPerSec: number;
  documents: number;
  childWallMs: number;
  peakRssKb: number | null;
  rssSource: string;
  rssAfterOpenKb: number;
  generateMs: number;
  wal: WalFigures;
  cat: ToolFigures;
  wc: ToolFigures;
  ratioCat: number | null;
  ratioWc: number | null;
}

export interface StoreBenchResult {
  startedAt: string;
  machine: MachineInfo;
  /** Wall time of running `true` the same way as the tools: the start-up share in their figures. */
  toolStartupMs: number | null;
  options: { lines: number; alwaysLines: number; window: number; toolRuns: number };
  writeBatched: WriteFigures | { error: string };
  writeAlways: WriteFigures | { error: string };
  recovery: RecoveryFigures | { error: string };
  /**
   * 'always' per line against the tools' per-line cost over the big 'batched' WAL:
   * our 'always' time scaled by lines/alwaysLines (an extrapolation of measured figures).
   */
  writeAlwaysScaled: { factor: number; oursScaledMs: number; catMs: number | null; wcMs: number | null; ratioCat: number | null; ratioWc: number | null } | null;
  table: TableRow[];
}

/** Options from flags (`--lines N`, `--always-lines N`, `--window N`, `--quick`) and the environment. */
export function resolveStoreBenchOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): StoreBenchOptions {
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i >= 0) return argv[i + 1];
    const eq = argv.find((a) => a.startsWith(`--${name}=`));
    return eq?.slice(name.length + 3);
  };
  const num = (text: string | undefined, what: string): number | undefined => {
    if (text === undefined || text === '') return undefined;
    const n = Number(text.replace(/[_,]/g, ''));
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${what} must be a positive integer, got "${text}"`);
    return n;
  };
  const quick = argv.includes('--quick');
  return {
    lines: num(flag('lines'), '--lines') ?? num(env.BENCH_STORE_LINES, 'BENCH_STORE_LINES') ?? (quick ? QUICK_STORE_LINES : DEFAULT_STORE_LINES),
    alwaysLines:
      num(flag('always-lines'), '--always-lines') ??
      num(env.BENCH_STORE_ALWAYS_LINES, 'BENCH_STORE_ALWAYS_LINES') ??
      (quick ? QUICK_ALWAYS_LINES : DEFAULT_ALWAYS_LINES),
    window: num(flag('window'), '--window') ?? DEFAULT_WINDOW,
  };
}

function walFigures(dataDir: string, lines: number): WalFigures & { files: string[] } {
  const { files, bytes } = walFiles(dataDir);
  return { lines, bytes, segments: files.length, files };
}

/** Median of `runs` runs of a standard tool; a missing or failing tool gives ms null. */
async function measureTool(
  label: string,
  cmd: string,
  args: string[],
  runs: number,
  check?: (r: RunResult) => string | undefined,
): Promise<ToolFigures> {
  try {
    const r = await medianOf(runs, () => runMeasured(cmd, args, { captureStdout: check !== undefined }));
    if (r.exitCode !== 0) return { command: label, ms: null, runsMs: r.runsMs, peakRssKb: null, error: `exit code ${r.exitCode}: ${r.stderr.trim().slice(0, 200)}` };
    const problem = check?.(r);
    if (problem !== undefined) return { command: label, ms: null, runsMs: r.runsMs, peakRssKb: r.peakRssKb, error: problem };
    return { command: label, ms: r.wallMs, runsMs: r.runsMs, peakRssKb: r.peakRssKb };
  } catch (err) {
    return { command: label, ms: null, runsMs: [], peakRssKb: null, error: (err as Error).message };
  }
}

/** `cat` and `wc -l` over the files (after one unmeasured cat, so that all three read from a warm page cache). */
async function measureTools(files: string[], expectedLines: number, runs: number): Promise<{ cat: ToolFigures; wc: ToolFigures }> {
  await runMeasured('cat', files, { captureStdout: false }).catch(() => undefined);
  const cat = await measureTool('cat wal/* > /dev/null', 'cat', files, runs);
  const wc = await measureTool('wc -l wal/*', 'wc', ['-l', ...files], runs, (r) => {
    const lines = r.stdout.trim().split('\n');
    const total = Number(/^\s*(\d+)/.exec(lines[lines.length - 1] ?? '')?.[1]);
    return total === expectedLines ? undefined : `wc -l counted ${total} lines, expected ${expectedLines}`;
  });
  return { cat, wc };
}

function toolLine(t: ToolFigures, oursMs: number, runs: number): string {
  if (t.ms === null) return `  ${t.command}: failed (${t.error ?? 'unknown'})`;
  return `  ${t.command}: ${fmtMs(t.ms)} (median of ${runs}: ${t.runsMs.map((m) => fmtMs(m)).join(', ')}), peak RSS ${fmtRss(t.peakRssKb)} -> ours/${t.command.split(' ')[0]} = ${fmtRatio(oursMs, t.ms)}`;
}

async function benchWrite(
  root: string,
  fsyncMode: 'batched' | 'always',
  lines: number,
  window: number,
  toolRuns: number,
  log: (s: string) => void,
): Promise<WriteFigures> {
  const dataDir = path.join(root, `write-${fsyncMode}`);
  const child: ChildRun<WriteChildResult> = await runNodeChild<WriteChildResult>(siblingPath(import.meta.url, 'children', 'store-write.ts'), [
    '--dir',
    dataDir,
    '--lines',
    String(lines),
    '--fsync',
    fsyncMode,
    '--window',
    String(window),
  ]);
  const r = child.result;
  if (r.totalLines !== lines) throw new Error(`the store reports ${r.totalLines} lines after ${lines} writes`);
  const wal = walFigures(dataDir, lines);
  const tp = throughput(lines, wal.bytes, r.writeMs);
  const tools = await measureTools(wal.files, lines, toolRuns);
  const figures: WriteFigures = {
    fsyncMode,
    lines,
    window,
    ms: r.writeMs,
    ...tp,
    batches: r.batches,
    avgBatch: r.batches > 0 ? lines / r.batches : 0,
    childWallMs: child.wallMs,
    peakRssKb: child.peakRssKb,
    rssSource: child.rssSource,
    wal: { lines: wal.lines, bytes: wal.bytes, segments: wal.segments },
    cat: tools.cat,
    wc: tools.wc,
    ratioCat: ratio(r.writeMs, tools.cat.ms),
    ratioWc: ratio(r.writeMs, tools.wc.ms),
  };
  log(
    `write, fsyncMode '${fsyncMode}': ${fmtInt(lines)} lines in windows of ${window} un-awaited writes: ${fmtMs(r.writeMs)} ` +
      `= ${fmtInt(tp.linesPerSec)} lines/s, ${tp.mbPerSec.toFixed(1)} MB/s; WAL ${fmtBytes(wal.bytes)} in ${wal.segments} segment(s); ` +
      `${fmtInt(r.batches)} write batches (avg ${figures.avgBatch.toFixed(0)} lines, max ${r.maxBatch}); ` +
      `child process wall ${fmtMs(child.wallMs)} (incl. node+tsx start-up), peak RSS ${fmtRss(child.peakRssKb)} (${child.rssSource})`,
  );
  log(toolLine(tools.cat, r.writeMs, toolRuns));
  log(toolLine(tools.wc, r.writeMs, toolRuns));
  return figures;
}

async function benchRecovery(root: string, lines: number, toolRuns: number, log: (s: string) => void): Promise<RecoveryFigures> {
  const dataDir = path.join(root, 'recovery');
  const gen = generateWal({ dataDir, lines });
  log(
    `generated ${fmtInt(lines)}-line WAL (no snapshot) in ${fmtMs(gen.ms)}: ${fmtBytes(gen.bytes)}, ${gen.segments.length} segment(s), ` +
      `mix ${Object.entries(gen.counts)
        .map(([k, v]) => `${k} ${((100 * v) / lines).toFixed(1)}%`)
        .join(', ')}`,
  );
  const wal = walFigures(dataDir, lines);
  const tools = await measureTools(wal.files, lines, toolRuns);
  const child = await runNodeChild<RecoverChildResult>(siblingPath(import.meta.url, 'children', 'store-recover.ts'), ['--dir', dataDir]);
  const r = child.result;
  if (r.totalLines !== lines) throw new Error(`recovery reports ${r.totalLines} lines, the WAL has ${lines}`);
  const tp = throughput(lines, wal.bytes, r.openMs);
  const figures: RecoveryFigures = {
    lines,
    ms: r.openMs,
    ...tp,
    documents: r.documents,
    childWallMs: child.wallMs,
    peakRssKb: child.peakRssKb,
    rssSource: child.rssSource,
    rssAfterOpenKb: r.rssAfterOpenKb,
    generateMs: gen.ms,
    wal: { lines: wal.lines, bytes: wal.bytes, segments: wal.segments },
    cat: tools.cat,
    wc: tools.wc,
    ratioCat: ratio(r.openMs, tools.cat.ms),
    ratioWc: ratio(r.openMs, tools.wc.ms),
  };
  log(
    `recovery: BriStore.open() of the ${fmtInt(lines)}-line data dir (all lines replayed): ${fmtMs(r.openMs)} = ${fmtInt(tp.linesPerSec)} lines/s, ` +
      `${tp.mbPerSec.toFixed(1)} MB/s; ${fmtInt(r.documents)} documents; child process wall ${fmtMs(child.wallMs)}, ` +
      `peak RSS ${fmtRss(child.peakRssKb)} (${child.rssSource}), RSS after open ${fmtRss(r.rssAfterOpenKb)}`,
  );
  log(toolLine(tools.cat, r.openMs, toolRuns));
  log(toolLine(tools.wc, r.openMs, toolRuns));
  return figures;
}

function rowsFor(name: string, f: WriteFigures | RecoveryFigures): TableRow[] {
  return [
    { name: `${name} vs cat`, oursMs: f.ms, theirsMs: f.cat.ms, oursRssKb: f.peakRssKb, theirsRssKb: f.cat.peakRssKb },
    { name: `${name} vs wc -l`, oursMs: f.ms, theirsMs: f.wc.ms, oursRssKb: f.peakRssKb, theirsRssKb: f.wc.peakRssKb },
  ];
}

/** Runs the store benchmark, prints its figures and a table, and writes `.bench/store.json`. */
export async function runStoreBench(opts: StoreBenchOptions = { lines: DEFAULT_STORE_LINES }): Promise<StoreBenchResult> {
  const log = opts.log ?? ((s: string) => console.log(`[store] ${s}`));
  const lines = opts.lines;
  const alwaysLines = opts.alwaysLines ?? DEFAULT_ALWAYS_LINES;
  const window = opts.window ?? DEFAULT_WINDOW;
  const toolRuns = opts.toolRuns ?? DEFAULT_TOOL_RUNS;
  const gnuTime = hasGnuTime();
  const root = benchRoot('store');
  const cpus = os.cpus();
  const result: StoreBenchResult = {
    startedAt: new Date().toISOString(),
    machine: machineInfo(root, gnuTime),
    options: { lines, alwaysLines, window, toolRuns },
    toolStartupMs: null,
    writeBatched: { error: 'not run' },
    writeAlways: { error: 'not run' },
    recovery: { error: 'not run' },
    writeAlwaysScaled: null,
    table: [],
  };
  log(
    `${cpus.length} CPU(s) ${result.machine.cpuModel}, node ${process.version}, data in ${root}; ` +
      `peak RSS from ${gnuTime ? "GNU time (/usr/bin/time -f '%e %M')" : "the children's process.resourceUsage().maxRSS (standard tools: n/a)"}`,
  );
  const baseline = await measureTool('true', 'true', [], toolRuns);
  result.toolStartupMs = baseline.ms;
  log(`process start-up as the tools are run (spawn${gnuTime ? ' + GNU time' : ''} of \`true\`): ${fmtMs(baseline.ms)}, included in every tool figure below`);
  log(`"ours" is timed inside the child (writes until acknowledged + final flush; open() for recovery); "theirs" is the tool's whole process`);
  const step = async <T>(name: string, dir: string, fn: () => Promise<T>): Promise<T | { error: string }> => {
    try {
      return await fn();
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      log(`${name} FAILED: ${message}`);
      return { error: message };
    } finally {
      if (process.env.BENCH_KEEP !== '1') fs.rmSync(path.join(root, dir), { recursive: true, force: true });
    }
  };
  try {
    result.writeBatched = await step('write batched', 'write-batched', () => benchWrite(root, 'batched', lines, window, toolRuns, log));
    log(
      `write 'always' uses ${fmtInt(alwaysLines)} lines (not ${fmtInt(lines)}): it is compared with cat and wc -l over the ` +
        `${fmtInt(alwaysLines)}-line WAL that it produced; compare lines/s, not seconds, with the 'batched' run`,
    );
    result.writeAlways = await step('write always', 'write-always', () => benchWrite(root, 'always', alwaysLines, window, toolRuns, log));
    const wb = result.writeBatched;
    const wa = result.writeAlways;
    if (!('error' in wb) && !('error' in wa)) {
      const factor = lines / alwaysLines;
      const oursScaledMs = wa.ms * factor;
      result.writeAlwaysScaled = {
        factor,
        oursScaledMs,
        catMs: wb.cat.ms,
        wcMs: wb.wc.ms,
        ratioCat: ratio(oursScaledMs, wb.cat.ms),
        ratioWc: ratio(oursScaledMs, wb.wc.ms),
      };
      log(
        `write 'always' scaled x${factor.toFixed(1)} to ${fmtInt(lines)} lines: ${fmtMs(oursScaledMs)} (${((1000 * wa.ms) / alwaysLines).toFixed(2)} us/line) ` +
          `vs cat/wc -l of the ${fmtInt(lines)}-line 'batched' WAL: ours/cat = ${fmtRatio(oursScaledMs, wb.cat.ms)}, ours/wc = ${fmtRatio(oursScaledMs, wb.wc.ms)}`,
      );
    }
    result.recovery = await step('recovery', 'recovery', () => benchRecovery(root, lines, toolRuns, log));
  } finally {
    if (process.env.BENCH_KEEP !== '1') fs.rmSync(root, { recursive: true, force: true });
  }

  const rows: TableRow[] = [];
  if (!('error' in result.writeBatched)) rowsFor(`write batched ${fmtInt(lines)}`, result.writeBatched).forEach((r) => rows.push(r));
  if (!('error' in result.writeAlways)) rowsFor(`write always ${fmtInt(alwaysLines)}`, result.writeAlways).forEach((r) => rows.push(r));
  const scaled = result.writeAlwaysScaled;
  if (scaled !== null && !('error' in result.writeAlways) && !('error' in result.writeBatched)) {
    const name = `write always x${scaled.factor.toFixed(1)} (scaled)`;
    rows.push({ name: `${name} vs cat`, oursMs: scaled.oursScaledMs, theirsMs: scaled.catMs, oursRssKb: result.writeAlways.peakRssKb, theirsRssKb: result.writeBatched.cat.peakRssKb });
    rows.push({ name: `${name} vs wc -l`, oursMs: scaled.oursScaledMs, theirsMs: scaled.wcMs, oursRssKb: result.writeAlways.peakRssKb, theirsRssKb: result.writeBatched.wc.peakRssKb });
  }
  if (!('error' in result.recovery)) rowsFor(`recovery ${fmtInt(lines)}`, result.recovery).forEach((r) => rows.push(r));
  result.table = rows;
  console.log('');
  console.log(formatResultsTable(rows));
  console.log('');
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
  log(`results written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  return result;
}

// `tsx bench/store.ts [--lines N] [--quick]` runs it on its own.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runStoreBench(resolveStoreBenchOptions(process.argv.slice(2))).catch((err: unknown) => {
    console.error(err);
  });
}
