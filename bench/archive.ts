/**
 * The archive benchmark: `ArchiveApi.create()` (ours, in a child process) next to
 * `tar -cf - wal | zstd -N | sha256sum` (theirs) on the same WAL files, in the same
 * run, at zstd level 19 (our default) and 3; and `ArchiveApi.verify()` next to
 * `zstd -t` + `sha256sum -c` on the unpacked archive. Two WAL sizes (200 and 50 MiB;
 * --quick: 10 and 3 MiB) show whether peak RSS grows with the WAL.
 *
 * Run: `npm run bench -- --only archive [--quick] [--archive-mib 200,50] [--levels 19,3] [--no-verify] [--runs N]`,
 * or `tsx bench/archive.ts [same flags]`.
 * Environment: BENCH_ARCHIVE_MIB (sizes), BENCH_TMP (where data dirs go), BENCH_KEEP=1,
 * BENCH_NODE_FLAGS (extra node flags for our children, e.g. "--cpu-prof --cpu-prof-dir=.bench/prof").
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchRoot, GNU_TIME_PATH, hasGnuTime, medianOf, toolVersion, runMeasured, runNodeChild, siblingPath, type ChildRun, machineInfo, type MachineInfo } from './lib/measure.js';
import { fmtBytes, fmtInt, fmtMs, fmtRatio, fmtRss, formatTable, ratio } from './lib/table.js';
import { generateWal, walFiles } from './lib/walgen.js';
import { flag } from './lib/args.js';
import { archiveSummaryRows, runSmallMembers, type SmallMembersFigures, type SummaryRow } from './archive-summary.js';

const MIB = 1024 * 1024;
export const DEFAULT_ARCHIVE_MIB = [200, 50];
export const QUICK_ARCHIVE_MIB = [10, 3];
export const DEFAULT_LEVELS = [19, 3];
/** Lines generated once to learn the workload's bytes per line (then the real WAL is sized from it). */
const CALIBRATION_LINES = 20_000;

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_FILE = path.join(REPO_ROOT, '.bench', 'archive.json');

export interface ArchiveBenchOptions {
  /** WAL sizes in MiB (each is generated; the first is the big one). */
  sizesMib: number[];
  /** zstd levels, ours and theirs. */
  levels: number[];
  /** Also time verify (ours) against zstd -t + sha256sum -c (theirs). Default true. */
  verify?: boolean;
  /** Runs of each measurement; the median is kept. Default 1 (level 19 on 200 MiB takes minutes). */
  runs?: number;
  /** Our create with its default PAR2 recovery data (true, the API's default) or without (`--no-par2`). */
  par2?: boolean;
  /** Also time 47 members of 16 KiB at level 19 against the same bytes as one member (default true; `--no-small`). */
  smallMembers?: boolean;
  quick?: boolean;
  log?: (line: string) => void;
}

interface CreateChildResult {
  createMs: number;
  cpuMs: number;
  /** ms from the start of create() to the first progress event of each phase. */
  phaseStartMs: Record<string, number>;
  phaseMemMib: Record<string, { rss: number; heapUsed: number; external: number }>;
  maxHeapUsedAtEventsMib: number;
  heapUsedAtEndMib: number;
  errorCorrection: { enabled: boolean; redundancy: number; blockSize: number | null; recoveryBlockCount: number | null };
  archiveId: string;
  file: string;
  bytes: number;
  level: number;
  walLines: number;
  segments: number;
  originalSize: number;
  compressedSize: number;
  chainVerified: boolean;
  rssAtEndKb: number;
  maxRssKb: number;
}

interface VerifyChildResult {
  verifyMs: number;
  cpuMs: number;
  ok: boolean;
  problems: string[];
  checked: { members: number; walLines: number; chain: string; snapshot: string; neighbours: number };
  maxRssKb: number;
}

/** Our figures for one operation. */
export interface OursFigures {
  /** Timed inside the child, around create() / verify(). */
  ms: number;
  runsMs: number[];
  /** The child process from spawn to exit (node start-up included). */
  childWallMs: number;
  /** User + system CPU of the child (all threads) during the operation, ms. */
  cpuMs: number | null;
  peakRssKb: number | null;
  rssSource: string;
  outputBytes: number | null;
  details: Record<string, unknown>;
}

/** A standard tool pipeline's figures. */
export interface TheirsFigures {
  label: string;
  script: string;
  ms: number | null;
  runsMs: number[];
  /**
   * Peak RSS of the pipeline: the sum of the per-process peaks of the processes that
   * run at the same time (tar + zstd), or the largest later step (sha256sum) if larger.
   */
  peakRssKb: number | null;
  /** What GNU time reports for `sh -c`: the single largest process of the pipeline. */
  largestProcessRssKb: number | null;
  perProcessRssKb: Record<string, number>;
  /** User + system CPU of the measured processes, added up (GNU time %U + %S), ms. */
  cpuMs: number | null;
  outputBytes: number | null;
  error?: string;
}

export interface ArchiveRow {
  operation: string;
  sizeMib: number;
  walBytes: number;
  level: number | null;
  ours: OursFigures | { error: string };
  theirs: TheirsFigures;
  timeRatio: number | null;
  rssRatio: number | null;
  bytesRatio: number | null;
}

export interface SizeFigures {
  targetMib: number;
  lines: number;
  walBytes: number;
  segments: number;
  generateMs: number;
  error?: string;
}

export interface ArchiveBenchResult {
  startedAt: string;
  machine: MachineInfo;
  tools: Record<string, string>;
  options: { sizesMib: number[]; levels: number[]; verify: boolean; par2: boolean; runs: number; quick: boolean };
  /** The code measured: HEAD and the files of src/ changed from it, at the start and at the end (others may edit src/ during a run). */
  source: { start: SourceState; end: SourceState | null };
  /** Peak RSS of a child that loaded the archive modules and did nothing: the floor of our figures. */
  childBaselineRssKb: number | null;
  toolStartupMs: number | null;
  bytesPerLine: number;
  sizes: SizeFigures[];
  rows: ArchiveRow[];
  /** os.loadavg() (1, 5, 15 min) when each size started and at the end: other work on the machine skews wall times. */
  loadAverages: Array<{ at: string; load: number[] }>;
  /** Many small members at level 19 against the same bytes in one member (our create both times). */
  smallMembers: SmallMembersFigures | null;
  /** One row per ratio that issue 15 names (bench/run.ts prints them in its summary table). */
  summaryRows: SummaryRow[];
  /** Our create's peak RSS at the biggest size against the smallest, per level. */
  rssGrowth: Array<{ level: number; smallMib: number; bigMib: number; smallRssKb: number; bigRssKb: number; walFactor: number; rssFactor: number }>;
}

function numberList(text: string | undefined, what: string): number[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const list = text.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isFinite(n) || n <= 0)) throw new Error(`${what} must be a list of positive numbers, got "${text}"`);
  return list;
}

/** Options from flags (`--archive-mib 200,50`, `--levels 19,3`, `--no-verify`, `--runs N`, `--quick`) and the environment. */
export function resolveArchiveBenchOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ArchiveBenchOptions {
  const quick = argv.includes('--quick');
  const levels = numberList(flag(argv, 'levels'), '--levels') ?? DEFAULT_LEVELS;
  if (levels.some((l) => !Number.isInteger(l) || l < 1 || l > 19)) throw new Error('--levels: zstd levels 1..19 (the CLI needs --ultra above 19)');
  const runs = Number(flag(argv, 'runs') ?? 1);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  return {
    sizesMib: numberList(flag(argv, 'archive-mib'), '--archive-mib') ?? numberList(env.BENCH_ARCHIVE_MIB, 'BENCH_ARCHIVE_MIB') ?? (quick ? QUICK_ARCHIVE_MIB : DEFAULT_ARCHIVE_MIB),
    levels,
    verify: !argv.includes('--no-verify'),
    par2: !argv.includes('--no-par2'),
    smallMembers: !argv.includes('--no-small'),
    runs,
    quick,
  };
}

export interface SourceState {
  head: string;
  /** sha256 over the paths and contents of every file under src/ (what the children run). */
  srcSha256: string;
  /** `git status --porcelain -- src` lines. */
  dirtySrc: string[];
}

function sourceState(): SourceState {
  const git = (args: string[]) => spawnSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 10_000 });
  const head = git(['rev-parse', '--short', 'HEAD']).stdout?.trim() || 'unknown';
  const status = git(['status', '--porcelain', '--', 'src']).stdout ?? '';
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) hash.update(`${path.relative(REPO_ROOT, full)}\0`).update(fs.readFileSync(full)).update('\0');
    }
  };
  walk(path.join(REPO_ROOT, 'src'));
  return { head, srcSha256: hash.digest('hex'), dirtySrc: status.split('\n').filter((l) => l.trim() !== '') };
}

/** Member sizes of a tar file, from `tar -tvf` (GNU tar: mode owner size date time name). */
function tarMemberSizes(file: string): Record<string, number> {
  const r = spawnSync('tar', ['-tvf', file], { encoding: 'utf8', maxBuffer: 64 * MIB });
  if (r.status !== 0) throw new Error(`tar -tvf ${path.basename(file)} failed: ${r.stderr.trim().slice(0, 300)}`);
  const out: Record<string, number> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^\S+\s+\S+\s+(\d+)\s+\S+\s+\S+\s+(.+)$/.exec(line);
    if (m) out[m[2]!] = Number(m[1]);
  }
  return out;
}

/**
 * Runs a shell script (dash) under GNU time, `runs` times, keeping the median. Each command of
 * the script that should be measured is written `$T name cmd ...`: with GNU time, `$T` records the
 * command's own peak RSS into `$R.name`; without it, `$T` is empty.
 */
async function measurePipeline(
  label: string,
  script: string,
  cwd: string,
  env: Record<string, string>,
  runs: number,
  concurrent: string[][],
  outputFile: string | null,
): Promise<TheirsFigures> {
  const gnu = hasGnuTime();
  const rssPrefix = path.join(os.tmpdir(), `bri-bench-archive-rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const fullScript = `set -e\n${gnu ? `T() { n=$1; shift; ${GNU_TIME_PATH} -f '%U %S %M' -o "$R.$n" "$@"; }` : 'T() { shift; "$@"; }'}\n${script}`;
  const base: TheirsFigures = { label, script, ms: null, runsMs: [], peakRssKb: null, largestProcessRssKb: null, perProcessRssKb: {}, cpuMs: null, outputBytes: null };
  try {
    let perProcess: Record<string, number> = {};
    let cpuMs: number | null = null;
    const r = await medianOf(runs, async () => {
      const run = await runMeasured('sh', ['-c', fullScript], { cwd, env: { ...process.env, ...env, R: rssPrefix }, captureStdout: false });
      perProcess = {};
      cpuMs = null;
      for (const f of fs.readdirSync(path.dirname(rssPrefix))) {
        if (!f.startsWith(`${path.basename(rssPrefix)}.`)) continue;
        const file = path.join(path.dirname(rssPrefix), f);
        const m = /(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+)\s*$/.exec(fs.readFileSync(file, 'utf8').trim());
        if (m) {
          perProcess[f.slice(path.basename(rssPrefix).length + 1)] = Number(m[3]);
          cpuMs = (cpuMs ?? 0) + (Number(m[1]) + Number(m[2])) * 1000;
        }
        fs.rmSync(file, { force: true });
      }
      return run;
    });
    if (r.exitCode !== 0) return { ...base, runsMs: r.runsMs, error: `exit code ${r.exitCode}: ${r.stderr.trim().slice(0, 300)}` };
    let peak: number | null = null;
    if (Object.keys(perProcess).length > 0) {
      // Processes of one group run at the same time (a pipeline): their peaks add up.
      peak = Math.max(...concurrent.map((group) => group.reduce((a, n) => a + (perProcess[n] ?? 0), 0)));
    }
    return {
      ...base,
      ms: r.wallMs,
      runsMs: r.runsMs,
      peakRssKb: peak,
      largestProcessRssKb: r.peakRssKb,
      perProcessRssKb: perProcess,
      cpuMs,
      outputBytes: outputFile !== null && fs.existsSync(outputFile) ? fs.statSync(outputFile).size : null,
    };
  } catch (err) {
    return { ...base, error: (err as Error).message };
  }
}

/** Members of a tar(.zst) file as listed by the standard tools (a sanity check, not timed). */
function listTar(file: string, compressed: boolean): string[] {
  const cmd = compressed ? `zstd -dc -q "$F" | tar -tf -` : `tar -tf "$F"`;
  const r = spawnSync('sh', ['-c', cmd], { env: { ...process.env, F: file }, encoding: 'utf8', maxBuffer: 64 * MIB });
  if (r.status !== 0) throw new Error(`listing ${path.basename(file)} failed: ${r.stderr.trim().slice(0, 300)}`);
  return r.stdout.trim().split('\n').filter((l) => l !== '' && !l.endsWith('/'));
}

function oursFrom<T extends { maxRssKb?: number; cpuMs?: number }>(runs: ChildRun<T>[], ms: (r: T) => number, outputBytes: number | null, details: Record<string, unknown>): OursFigures {
  const sorted = [...runs].sort((a, b) => ms(a.result) - ms(b.result));
  const pick = sorted[(sorted.length - 1) >> 1]!;
  return {
    ms: ms(pick.result),
    runsMs: runs.map((r) => ms(r.result)),
    childWallMs: pick.wallMs,
    cpuMs: pick.result.cpuMs ?? null,
    peakRssKb: pick.peakRssKb,
    rssSource: pick.rssSource,
    outputBytes,
    details,
  };
}

/** "prepare 150 ms, wal 336 ms (1.08 s), ..." : each phase's start and how long it lasted. */
function phaseText(starts: Record<string, number>, totalMs: number): string {
  const list = Object.entries(starts).sort((a, b) => a[1] - b[1]);
  return list
    .map(([name, at], i) => {
      const end = i + 1 < list.length ? list[i + 1]![1] : totalMs;
      return `${name} @${fmtMs(at)} (${fmtMs(end - at)})`;
    })
    .join(', ') + ` [before the first event: ${fmtMs(list[0]?.[1] ?? totalMs)}]`;
}

function theirsLine(t: TheirsFigures): string {
  if (t.ms === null) return `  theirs ${t.label}: failed (${t.error ?? 'unknown'})`;
  const procs = Object.entries(t.perProcessRssKb)
    .map(([n, kb]) => `${n} ${fmtRss(kb)}`)
    .join(', ');
  return (
    `  theirs ${t.label}: ${fmtMs(t.ms)}${t.runsMs.length > 1 ? ` (median of ${t.runsMs.map((m) => fmtMs(m)).join(', ')})` : ''}` +
    `, CPU ${fmtMs(t.cpuMs)}${t.outputBytes !== null ? `, output ${fmtBytes(t.outputBytes)} (${fmtInt(t.outputBytes)} B)` : ''}` +
    `, peak RSS ${fmtRss(t.peakRssKb)}${procs ? ` (per process: ${procs}; largest single process per GNU time ${fmtRss(t.largestProcessRssKb)})` : ''}`
  );
}

/** Runs the archive benchmark, prints its figures and a table, and writes `.bench/archive.json`. */
export async function runArchiveBench(opts: ArchiveBenchOptions): Promise<ArchiveBenchResult> {
  const log = opts.log ?? ((s: string) => console.log(`[archive] ${s}`));
  const runs = opts.runs ?? 1;
  const doVerify = opts.verify ?? true;
  const gnuTime = hasGnuTime();
  const root = benchRoot('archive');
  const cpus = os.cpus();
  const tools: Record<string, string> = {
    tar: toolVersion('tar', ['--version']),
    zstd: toolVersion('zstd', ['--version']),
    sha256sum: toolVersion('sha256sum', ['--version']),
    sh: fs.existsSync('/bin/sh') ? `/bin/sh -> ${fs.realpathSync('/bin/sh')}` : 'unknown',
  };
  const result: ArchiveBenchResult = {
    startedAt: new Date().toISOString(),
    machine: machineInfo(root, gnuTime),
    tools,
    options: { sizesMib: opts.sizesMib, levels: opts.levels, verify: doVerify, par2: opts.par2 ?? true, runs, quick: opts.quick ?? false },
    source: { start: sourceState(), end: null },
    childBaselineRssKb: null,
    toolStartupMs: null,
    bytesPerLine: 0,
    sizes: [],
    rows: [],
    loadAverages: [],
    smallMembers: null,
    summaryRows: [],
    rssGrowth: [],
  };
  const noteLoad = (at: string): string => {
    const load = os.loadavg().map((l) => Math.round(l * 100) / 100);
    result.loadAverages.push({ at, load });
    return `load average ${load.join(' ')} (${cpus.length} CPUs)`;
  };
  log(
    `${cpus.length} CPU(s) ${result.machine.cpuModel}, node ${process.version}, ${tools.zstd}, ${tools.tar}; data in ${root}; ` +
      `peak RSS from ${gnuTime ? "GNU time (/usr/bin/time -f '%M')" : "the children's process.resourceUsage().maxRSS (standard tools: n/a)"}`,
  );
  const createChild = siblingPath(import.meta.url, 'children', 'archive-create.ts');
  const verifyChild = siblingPath(import.meta.url, 'children', 'archive-verify.ts');
  try {
    // The start-up share of every tool figure, and the RSS floor of our children.
    const startup = await medianOf(3, () => runMeasured('sh', ['-c', 'true'], { captureStdout: false }));
    result.toolStartupMs = startup.wallMs;
    const calDir = path.join(root, 'calibration');
    const cal = generateWal({ dataDir: calDir, lines: CALIBRATION_LINES });
    result.bytesPerLine = cal.bytes / cal.lines;
    const baseline = await runNodeChild<{ maxRssKb: number }>(createChild, ['--dir', calDir, '--level', '3', '--baseline']);
    result.childBaselineRssKb = baseline.peakRssKb;
    fs.rmSync(calDir, { recursive: true, force: true });
    log(
      `\`sh -c true\` start-up (included in every "theirs" figure): ${fmtMs(startup.wallMs)}; our child with the archive modules loaded and nothing done: ` +
        `peak RSS ${fmtRss(baseline.peakRssKb)}, wall ${fmtMs(baseline.wallMs)}; workload ${result.bytesPerLine.toFixed(1)} bytes/line (from ${fmtInt(CALIBRATION_LINES)} lines)`,
    );
    log(
      `"ours" = ArchiveApi(offlineHost(dir), { compression: { level } }).create(), timed inside the child: seal, read + parse + hash-chain check + ` +
        `operation replay of every line, zstd per segment (zstd-napi, 2 workers by default), sha256 of every member, tar, fsyncs. ` +
        `"theirs" = one \`sh -c\` pipeline timed whole: tar -cf - wal | zstd -N -T? > x.tar.zst; sha256sum x.tar.zst; sync (fsync) of the output. ` +
        `-T0 = as many zstd workers as cores (${cpus.length} here), -T1 = one worker thread (single-threaded compression); ` +
        `zstd splits its input into jobs of 4x its window (32 MiB at level 19, 8 MiB at level 3): a smaller input is one job, on one core`,
    );

    for (const mib of opts.sizesMib) {
      const sizeDir = path.join(root, `${mib}mib`);
      const templateDir = path.join(sizeDir, 'template');
      const lines = Math.ceil((mib * MIB * 1.01) / result.bytesPerLine);
      const gen = generateWal({ dataDir: templateDir, lines });
      const wal = walFiles(templateDir);
      const size: SizeFigures = { targetMib: mib, lines, walBytes: wal.bytes, segments: wal.files.length, generateMs: gen.ms };
      result.sizes.push(size);
      log(`--- ${mib} MiB (${noteLoad(`${mib} MiB`)}): generated ${fmtInt(lines)} lines in ${fmtMs(gen.ms)}: ${fmtBytes(wal.bytes)} (${fmtInt(wal.bytes)} B) in ${wal.files.length} segment(s)`);
      if (wal.bytes < mib * MIB) log(`  note: the WAL is ${fmtBytes(wal.bytes)}, under the ${mib} MiB asked for`);
      const outDir = path.join(sizeDir, 'theirs');
      fs.mkdirSync(outDir, { recursive: true });

      for (const level of opts.levels) {
        // Theirs, on the template's wal/ (which no run of ours touches).
        const theirs: Record<string, TheirsFigures> = {};
        for (const threads of [0, 1]) {
          const out = path.join(outDir, `wal.L${level}.T${threads}.tar.zst`);
          const label = `tar | zstd -${level} -T${threads} | sha256sum`;
          const script = [
            `T tar tar -cf - wal | T zstd zstd -${level} -T${threads} -q -c > "$OUT"`,
            `T sha256sum sha256sum "$OUT" > "$OUT.sha256"`,
            `T sync sync "$OUT" "$OUT.sha256"`,
          ].join('\n');
          const t = await measurePipeline(label, script, templateDir, { OUT: out }, runs, [['tar', 'zstd'], ['sha256sum'], ['sync']], out);
          if (t.ms !== null) {
            const listed = listTar(out, true);
            if (listed.length !== wal.files.length) t.error = `the .tar.zst lists ${listed.length} files, wal/ has ${wal.files.length}`;
          }
          theirs[threads] = t;
          log(theirsLine(t));
        }

        // Ours, each run on a fresh copy of the data directory (create changes it).
        let ours: OursFigures | { error: string };
        let created: CreateChildResult | null = null;
        let oursDir = '';
        try {
          const childRuns: ChildRun<CreateChildResult>[] = [];
          for (let i = 0; i < runs; i++) {
            if (oursDir !== '') fs.rmSync(oursDir, { recursive: true, force: true });
            oursDir = path.join(sizeDir, `ours-L${level}-${i}`);
            fs.cpSync(templateDir, oursDir, { recursive: true });
            const c = await runNodeChild<CreateChildResult>(createChild, ['--dir', oursDir, '--level', String(level), ...(opts.par2 === false ? ['--no-par2'] : [])]);
            if (c.result.walLines !== lines) throw new Error(`the archive holds ${c.result.walLines} lines, the WAL ${lines}`);
            childRuns.push(c);
          }
          created = childRuns[childRuns.length - 1]!.result;
          const sizes = tarMemberSizes(created.file);
          const names = Object.keys(sizes);
          if (names.filter((m) => m.startsWith('wal/')).length !== wal.files.length) throw new Error(`tar -tvf lists ${names.length} members in our archive`);
          const walMembersBytes = names.filter((n) => n.startsWith('wal/')).reduce((a, n) => a + sizes[n]!, 0);
          const par2Bytes = sizes['recovery.par2'] ?? 0;
          const ec = created.errorCorrection;
          ours = oursFrom(childRuns, (r) => r.createMs, created.bytes, {
            segments: created.segments,
            originalSize: created.originalSize,
            compressedSize: created.compressedSize,
            memberBytes: sizes,
            walMembersBytes,
            par2Bytes,
            bytesWithoutPar2: created.bytes - par2Bytes - (par2Bytes > 0 ? 512 + ((512 - (par2Bytes % 512)) % 512) : 0),
            errorCorrection: ec,
            chainVerified: created.chainVerified,
            rssAtEndKb: created.rssAtEndKb,
            phaseStartMs: created.phaseStartMs,
            phaseMemMib: created.phaseMemMib,
            maxHeapUsedAtEventsMib: created.maxHeapUsedAtEventsMib,
            heapUsedAtEndMib: created.heapUsedAtEndMib,
          });
          log(
            `  ours create level ${level}${ec.enabled ? ` + PAR2 ${Math.round(ec.redundancy * 100)}%` : ' (no PAR2)'}: ${fmtMs(ours.ms)}${runs > 1 ? ` (median of ${ours.runsMs.map((m) => fmtMs(m)).join(', ')})` : ''}` +
              ` = ${(wal.bytes / 1e6 / (ours.ms / 1000)).toFixed(1)} MB/s; archive ${fmtBytes(created.bytes)} (${fmtInt(created.bytes)} B: ` +
              `${created.segments} wal members ${fmtInt(walMembersBytes)} B${par2Bytes > 0 ? `, recovery.par2 ${fmtInt(par2Bytes)} B` : ''}, the rest snapshot/manifest/checksums/tar headers); ` +
              `CPU ${fmtMs(ours.cpuMs)}; child wall ${fmtMs(ours.childWallMs)}, peak RSS ${fmtRss(ours.peakRssKb)} (${ours.rssSource}), RSS at end ${fmtRss(created.rssAtEndKb)}`,
          );
          log(
            `    memory at each phase's first event (MiB rss/heapUsed/external): ${Object.entries(created.phaseMemMib)
              .map(([k, v]) => `${k} ${v.rss}/${v.heapUsed}/${v.external}`)
              .join(', ')}; after create heapUsed ${created.heapUsedAtEndMib} MiB`,
          );
          log(`    phases of that create (first progress event, ms from its start): ${phaseText(created.phaseStartMs, created.createMs)}`);
        } catch (err) {
          ours = { error: (err as Error).message };
          log(`  ours create level ${level} FAILED: ${(err as Error).message}`);
        }
        for (const threads of [0, 1]) {
          const t = theirs[threads]!;
          const o = 'error' in ours ? null : ours;
          result.rows.push({
            operation: `create L${level} vs tar|zstd -${level} -T${threads}`,
            sizeMib: mib,
            walBytes: wal.bytes,
            level,
            ours,
            theirs: t,
            timeRatio: ratio(o?.ms ?? null, t.ms),
            rssRatio: ratio(o?.peakRssKb ?? null, t.peakRssKb),
            bytesRatio: ratio(o?.outputBytes ?? null, t.ms === null ? null : t.outputBytes),
          });
        }

        if (doVerify && created !== null) {
          // Theirs: our archive unpacked with tar (not timed), then zstd -t of every zstd member + sha256sum -c of checksums.sha256.
          const unpacked = path.join(sizeDir, `unpacked-L${level}`);
          fs.mkdirSync(unpacked, { recursive: true });
          const x = spawnSync('tar', ['-xf', created.file, '-C', unpacked], { encoding: 'utf8' });
          const label = 'zstd -t *.zst wal/*.zst && sha256sum -c checksums.sha256';
          const t =
            x.status !== 0
              ? ({ label, script: '', ms: null, runsMs: [], peakRssKb: null, largestProcessRssKb: null, perProcessRssKb: {}, cpuMs: null, outputBytes: null, error: `tar -xf: ${x.stderr}` } as TheirsFigures)
              : await measurePipeline(label, `T zstd zstd -t -q *.zst wal/*.zst && T sha256sum sha256sum -c --quiet checksums.sha256`, unpacked, {}, runs, [['zstd'], ['sha256sum']], null);
          log(theirsLine(t));
          let oursV: OursFigures | { error: string };
          try {
            const childRuns: ChildRun<VerifyChildResult>[] = [];
            for (let i = 0; i < runs; i++) childRuns.push(await runNodeChild<VerifyChildResult>(verifyChild, ['--dir', oursDir, '--id', created.archiveId]));
            const v = childRuns[childRuns.length - 1]!.result;
            if (!v.ok) throw new Error(`verify reports problems: ${v.problems.join('; ')}`);
            oursV = oursFrom(childRuns, (r) => r.verifyMs, null, { checked: v.checked });
            log(
              `  ours verify (level ${level} archive): ${fmtMs(oursV.ms)} = ${(wal.bytes / 1e6 / (oursV.ms / 1000)).toFixed(1)} MB/s of WAL; ` +
                `checked ${JSON.stringify(v.checked)}; CPU ${fmtMs(oursV.cpuMs)}; child wall ${fmtMs(oursV.childWallMs)}, peak RSS ${fmtRss(oursV.peakRssKb)} (${oursV.rssSource})`,
            );
          } catch (err) {
            oursV = { error: (err as Error).message };
            log(`  ours verify level ${level} FAILED: ${(err as Error).message}`);
          }
          const o = 'error' in oursV ? null : oursV;
          result.rows.push({
            operation: `verify L${level} vs zstd -t + sha256sum -c`,
            sizeMib: mib,
            walBytes: wal.bytes,
            level,
            ours: oursV,
            theirs: t,
            timeRatio: ratio(o?.ms ?? null, t.ms),
            rssRatio: ratio(o?.peakRssKb ?? null, t.peakRssKb),
            bytesRatio: null,
          });
          if (process.env.BENCH_KEEP !== '1') fs.rmSync(unpacked, { recursive: true, force: true });
        }
        if (oursDir !== '' && process.env.BENCH_KEEP !== '1') fs.rmSync(oursDir, { recursive: true, force: true });
      }
      if (process.env.BENCH_KEEP !== '1') fs.rmSync(sizeDir, { recursive: true, force: true });
    }
    if (opts.smallMembers !== false) {
      log(`--- small members (${noteLoad('small members')})`);
      result.smallMembers = await runSmallMembers({ root, createChild, bytesPerLine: result.bytesPerLine, level: 19, par2: opts.par2 !== false, log });
    }
  } finally {
    if (process.env.BENCH_KEEP !== '1') fs.rmSync(root, { recursive: true, force: true });
  }

  // Does our peak RSS grow with the WAL? Biggest size against the smallest, per level.
  const sizesSorted = [...result.sizes].sort((a, b) => a.walBytes - b.walBytes);
  if (sizesSorted.length >= 2) {
    const small = sizesSorted[0]!;
    const big = sizesSorted[sizesSorted.length - 1]!;
    for (const level of opts.levels) {
      const rowFor = (s: SizeFigures) => result.rows.find((r) => r.sizeMib === s.targetMib && r.level === level && r.operation.startsWith('create'));
      const a = rowFor(small)?.ours;
      const b = rowFor(big)?.ours;
      if (!a || !b || 'error' in a || 'error' in b || a.peakRssKb === null || b.peakRssKb === null) continue;
      result.rssGrowth.push({
        level,
        smallMib: small.targetMib,
        bigMib: big.targetMib,
        smallRssKb: a.peakRssKb,
        bigRssKb: b.peakRssKb,
        walFactor: big.walBytes / small.walBytes,
        rssFactor: b.peakRssKb / a.peakRssKb,
      });
    }
  }

  log(`end: ${noteLoad('end')}`);
  result.source.end = sourceState();
  log(
    `code measured: HEAD ${result.source.start.head}, ${result.source.start.dirtySrc.length} file(s) of src/ changed from it at the start` +
      (result.source.start.srcSha256 !== result.source.end.srcSha256
        ? `; WARNING: the files of src/ changed during the run (end: HEAD ${result.source.end.head}, ${result.source.end.dirtySrc.length} changed file(s)), rows may measure different code`
        : `; src/ unchanged during the run (sha256 ${result.source.start.srcSha256.slice(0, 12)})`),
  );
  const rows = result.rows.map((r) => {
    const o = 'error' in r.ours ? null : r.ours;
    return [
      r.operation,
      `${r.sizeMib} MiB`,
      o ? fmtMs(o.ms) : 'FAILED',
      fmtMs(r.theirs.ms),
      fmtRatio(o?.ms ?? null, r.theirs.ms),
      fmtRss(o?.peakRssKb ?? null),
      fmtRss(r.theirs.peakRssKb),
      `${fmtMs(o?.cpuMs ?? null)} / ${fmtMs(r.theirs.cpuMs)}`,
      o?.outputBytes != null && r.theirs.outputBytes !== null && r.theirs.ms !== null
        ? `${fmtInt(o.outputBytes)} / ${fmtInt(r.theirs.outputBytes)} (${fmtRatio(o.outputBytes, r.theirs.outputBytes)}` +
          (typeof o.details.par2Bytes === 'number' && o.details.par2Bytes > 0 && typeof o.details.bytesWithoutPar2 === 'number'
            ? `; w/o PAR2 ${fmtRatio(o.details.bytesWithoutPar2, r.theirs.outputBytes)})`
            : ')')
        : '-',
    ];
  });
  console.log('');
  console.log(formatTable(['operation', 'WAL', 'ours', 'theirs', 'ours/theirs', 'peak RSS ours', 'peak RSS theirs', 'CPU ours / theirs', 'output bytes ours / theirs'], rows));
  console.log('');
  for (const g of result.rssGrowth) {
    log(
      `peak RSS of our create at level ${g.level}: ${fmtRss(g.smallRssKb)} for ${g.smallMib} MiB, ${fmtRss(g.bigRssKb)} for ${g.bigMib} MiB: ` +
        `x${g.rssFactor.toFixed(2)} for x${g.walFactor.toFixed(2)} the WAL (child floor ${fmtRss(result.childBaselineRssKb)})`,
    );
  }
  log(
    '"theirs" peak RSS = tar + zstd (concurrent, per-process peaks added); ours = the whole child process (node + zstd threads). ' +
      'Their output has no manifest, no per-segment frames, no checksums member; ours is a tar of per-segment .zst members.',
  );
  result.summaryRows = archiveSummaryRows(result.rows, result.smallMembers, cpus.length);
  for (const r of result.summaryRows) log(`summary: ${r.operation}: ${fmtRatio(r.oursMs, r.theirsMs)} wall, CPU ${r.cpuRatio === null ? 'n/a' : `${r.cpuRatio.toFixed(2)}x`} (target ${r.target})`);
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
  log(`results written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  return result;
}

// `tsx bench/archive.ts [--quick] [--archive-mib 200,50]` runs it on its own.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runArchiveBench(resolveArchiveBenchOptions(process.argv.slice(2))).catch((err: unknown) => {
    console.error(err);
  });
}
