/**
 * The time-travel benchmark (issue 17): questions about the past answered from an archive, without
 * a restore, against what the standard tools or two restores do for the same answer.
 *
 * Setup (not compared): one WAL of N MiB (default 200, --quick 8 with 1 MiB segments so that it
 * still has several members), the workload of lib/workload.ts with a few documents SET again and
 * again along the whole WAL (lib/timetravel-wal.ts; the benchmark's key has 60 changes, from the
 * first segment to the last); one archive at level 3 (PAR2 on, as by default), kept in the archive
 * directory and uploaded to s3rver on 127.0.0.1 (children/restore-remote-setup.ts); its WAL members
 * unpacked once with `tar -xf` for the tools. The expected answers come from a plain replay of the
 * raw WAL files (lib/timetravel-wal.ts), and every answer of every run is checked against them.
 *
 * Then `--tt-runs` runs (default 5; quick 3), each side in its own process, the order flipped each run:
 *   - history of the key: ours = openRestore(...).history(KEY, { source: 'local' })
 *     (children/timetravel-query.ts, timed inside around the call) against
 *     `zstd -dcq wal/*.wal.zst | grep -F '"KEY"' > out` on the same members (3 times per run);
 *     target <= 2x;
 *   - show --at T for T early (the middle of the first segment), middle (half the time range), late
 *     (the middle of the last segment): read(KEY, { at: T }), locally and from s3rver; no target, the
 *     bytes read against the archive's size;
 *   - diff of two moments (1/3 and 2/3 of the time range): diff({ at: T1, to: T2, source: 'local' })
 *     against two restores, toTimestamp(T1) and toTimestamp(T2) into new directories
 *     (children/restore-run.ts, each in its own child; their times added up); target <= 0.3x;
 *   - the bytes fetched from the remote (`read.bytes` of the answer with `source: 's3'`) for
 *     history, show and diff.
 *
 * Run: `npm run bench -- --only timetravel [--quick] [--tt-mib N] [--tt-runs N] [--tt-profile DIR]`,
 * or `npx tsx bench/timetravel.ts [same flags]`. `--tt-profile DIR` writes a CPU profile of each of
 * our time-travel children (`tt-<op>-<source>-<run>.cpuprofile`; bench/tools/cpuprofile-top.ts reads them).
 * Environment: BENCH_TT_MIB, BENCH_TMP (where the data goes), BENCH_KEEP=1 (keep it),
 * BENCH_NODE_FLAGS (extra node flags for every child).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifest } from '../src/archive/package/reader.js';
import { startS3rver, type S3rverServer } from '../test/support/servers/s3rver.js';
import { flag, positive, positiveInt } from './lib/args.js';
import { benchRoot, hasGnuTime, machineInfo, median, runNodeChild, siblingPath, toolVersion, type ChildRun, type MachineInfo } from './lib/measure.js';
import { runTimedScript } from './lib/script.js';
import { sourceState, sourceText, type SourceState } from './lib/source-state.js';
import type { SummaryRow } from './lib/summary.js';
import { fmtBytes, fmtInt, fmtMs, fmtRatio, fmtRss, formatTable, ratio } from './lib/table.js';
import { diffDigest, generateHotKeyWal, historyDigest, replayExpectations } from './lib/timetravel-wal.js';

const MIB = 1024 * 1024;
export const DEFAULT_TT_MIB = 200;
export const QUICK_TT_MIB = 8;
export const DEFAULT_TT_RUNS = 5;
export const QUICK_TT_RUNS = 3;
/** The quick run's WAL segments (each one archive member): 1 MiB, so that 8 MiB still makes several members. */
const QUICK_SEGMENT_BYTES = 1 * MIB;
const LEVEL = 3;
const BUCKET = 'bri-bench';
/** The tools' pipe takes a fraction of a second: it runs this many times per run (before and after ours), the median kept. */
const TOOL_REPEATS = 3;
/** How many changes the benchmark's key has. */
const KEY_CHANGES = 60;
const HISTORY_TARGET = '<= 2x';
const DIFF_TARGET = '<= 0.3x';
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_FILE = path.join(REPO_ROOT, '.bench', 'timetravel.json');

export interface TimeTravelBenchOptions {
  walMib?: number;
  runs?: number;
  quick?: boolean;
  /** A directory for CPU profiles of our time-travel children. */
  profileDir?: string;
  log?: (line: string) => void;
}

/** Options from flags (`--tt-mib N`, `--tt-runs N`, `--tt-profile DIR`) and the environment (BENCH_TT_MIB). */
export function resolveTimeTravelBenchOptions(argv: readonly string[], quick = argv.includes('--quick'), env: NodeJS.ProcessEnv = process.env): TimeTravelBenchOptions {
  const opts: TimeTravelBenchOptions = { quick };
  const walMib = positive(flag(argv, 'tt-mib'), '--tt-mib') ?? positive(env.BENCH_TT_MIB, 'BENCH_TT_MIB');
  const runs = positiveInt(flag(argv, 'tt-runs'), '--tt-runs');
  const profileDir = flag(argv, 'tt-profile');
  if (walMib !== undefined) opts.walMib = walMib;
  if (runs !== undefined) opts.runs = runs;
  if (profileDir !== undefined && profileDir !== '') opts.profileDir = path.resolve(profileDir);
  return opts;
}

interface QueryResult {
  op: string;
  source: string;
  ms: number;
  cpuMs: number;
  read: { bytes: number; requests: number };
  answer: Record<string, unknown>;
  maxRssKb: number;
}

interface RestoreRunResult {
  restoreMs: number;
  cpuMs: number;
  linesRestored: number;
  documents: number | null;
  collections: number | null;
  marks: Record<string, number | null>;
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

/** One measured run of one side. */
export interface Sample {
  ms: number;
  cpuMs: number | null;
  peakRssKb: number | null;
  /** Ours: the child from spawn to exit. */
  processMs?: number;
  /** Ours: what the answer read (`read.bytes`, `read.requests`). */
  bytes?: number;
  requests?: number;
  /** s3rver's own CPU during the run (remote runs). */
  serverCpuMs?: number;
  /** Theirs: CPU time of each process of the pipe (GNU time). */
  processCpuMs?: Record<string, number>;
}

export interface Side {
  label: string;
  samples: Sample[];
  ms: number | null;
  cpuMs: number | null;
  peakRssKb: number | null;
  bytes: number | null;
  requests: number | null;
}

export interface Comparison {
  operation: string;
  ours: Side;
  theirs: Side;
  ratio: number | null;
  cpuRatio: number | null;
  /** ours / theirs of each run. */
  runRatios: number[];
  medianRunRatio: number | null;
  target: string;
}

export interface TimeTravelBenchResult {
  startedAt: string;
  machine: MachineInfo;
  tools: Record<string, string>;
  options: { walMib: number; runs: number; level: number; quick: boolean; segmentBytes: number };
  source: { start: SourceState; end: SourceState | null };
  wal: { lines: number; bytes: number; segments: number; generateMs: number; key: string; keyChanges: number } | null;
  archive: { archiveId: string; bytes: number; members: number; walMembersBytes: number; createMs: number } | null;
  moments: Record<string, number>;
  checks: string[];
  loadAverages: Array<{ at: string; load: number[] }>;
  history: Comparison | null;
  diff: Comparison | null;
  /** Per moment: our read, locally and from S3. */
  show: Array<{ name: string; at: number; local: Side; s3: Side }>;
  /** Our history and diff from S3. */
  remote: { history: Side; diff: Side } | null;
  grep: { lines: number; targetLines: number } | null;
  summaryRows: SummaryRow[];
  error?: string;
}

const emptySide = (label: string): Side => ({ label, samples: [], ms: null, cpuMs: null, peakRssKb: null, bytes: null, requests: null });

function summarize(side: Side): Side {
  const s = side.samples;
  if (s.length === 0) return side;
  const cpu = s.map((x) => x.cpuMs).filter((x): x is number => x !== null);
  const rss = s.map((x) => x.peakRssKb).filter((x): x is number => x !== null);
  return {
    ...side,
    ms: median(s.map((x) => x.ms)),
    cpuMs: cpu.length === s.length ? median(cpu) : null,
    peakRssKb: rss.length > 0 ? Math.max(...rss) : null,
    bytes: s[s.length - 1]!.bytes ?? null,
    requests: s[s.length - 1]!.requests ?? null,
  };
}

function compare(operation: string, ours: Side, theirs: Side, target: string, perRun: number[]): Comparison {
  const o = summarize(ours);
  const t = summarize(theirs);
  return { operation, ours: o, theirs: t, ratio: ratio(o.ms, t.ms), cpuRatio: ratio(o.cpuMs, t.cpuMs), runRatios: perRun, medianRunRatio: perRun.length > 0 ? median(perRun) : null, target };
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

const sampleText = (s: Sample): string =>
  `${fmtMs(s.ms)} (CPU ${fmtMs(s.cpuMs)}, peak RSS ${fmtRss(s.peakRssKb)}${s.bytes !== undefined ? `, read ${fmtBytes(s.bytes)} in ${s.requests} request(s)` : ''}${s.serverCpuMs !== undefined ? `, s3rver CPU ${fmtMs(s.serverCpuMs)}` : ''})`;

/** Runs the time-travel benchmark, prints its figures and tables, and writes `.bench/timetravel.json`. */
export async function runTimeTravelBench(opts: TimeTravelBenchOptions = {}): Promise<TimeTravelBenchResult> {
  const log = opts.log ?? ((s: string) => console.log(`[timetravel] ${s}`));
  const quick = opts.quick ?? false;
  const walMib = opts.walMib ?? (quick ? QUICK_TT_MIB : DEFAULT_TT_MIB);
  const runs = opts.runs ?? (quick ? QUICK_TT_RUNS : DEFAULT_TT_RUNS);
  const segmentBytes = quick ? QUICK_SEGMENT_BYTES : 10 * MIB;
  const keep = process.env.BENCH_KEEP === '1';
  const gnuTime = hasGnuTime();
  const root = benchRoot('timetravel');
  const cpus = os.cpus();
  const tools = { zstd: toolVersion('zstd', ['--version']), grep: toolVersion('grep', ['--version']), tar: toolVersion('tar', ['--version']) };
  const result: TimeTravelBenchResult = {
    startedAt: new Date().toISOString(),
    machine: machineInfo(root, gnuTime),
    tools,
    options: { walMib, runs, level: LEVEL, quick, segmentBytes },
    source: { start: sourceState(), end: null },
    wal: null,
    archive: null,
    moments: {},
    checks: [],
    loadAverages: [],
    history: null,
    diff: null,
    show: [],
    remote: null,
    grep: null,
    summaryRows: [],
  };
  const noteLoad = (at: string): string => {
    const load = os.loadavg().map((l) => Math.round(l * 100) / 100);
    result.loadAverages.push({ at, load });
    return `load average ${load.join(' ')} (${cpus.length} CPUs)`;
  };
  const queryChild = siblingPath(import.meta.url, 'children', 'timetravel-query.ts');
  const restoreChild = siblingPath(import.meta.url, 'children', 'restore-run.ts');
  const setupChild = siblingPath(import.meta.url, 'children', 'restore-remote-setup.ts');
  if (opts.profileDir) fs.mkdirSync(opts.profileDir, { recursive: true });
  log(
    `${cpus.length} CPU(s) ${result.machine.cpuModel}, node ${process.version}; ${tools.zstd}; ${tools.grep}; ${tools.tar}; data in ${root}; ` +
      `peak RSS from ${gnuTime ? "GNU time (/usr/bin/time -f '%M')" : "the children's process.resourceUsage().maxRSS (standard tools: n/a)"}; ${sourceText(result.source.start)}; ${noteLoad('start')}`,
  );

  const side = {
    history: emptySide('ours history, local'),
    grep: emptySide(`zstd -dcq wal/*.wal.zst | grep -F '"KEY"'`),
    diff: emptySide('ours diff T1..T2, local'),
    restores: emptySide('restore to T1 + restore to T2'),
    historyS3: emptySide('ours history, s3'),
    diffS3: emptySide('ours diff T1..T2, s3'),
  };
  const historyRatios: number[] = [];
  const diffRatios: number[] = [];
  let server: S3rverServer | undefined;
  try {
    server = await startS3rver([BUCKET], undefined, path.join(root, 's3rver'));
    const serverPid = server.child.pid;
    const common = ['--endpoint', server.endpoint, '--bucket', BUCKET];

    // 1. The data: the WAL, the archive (kept locally and on s3rver), its members unpacked for the tools.
    const dataDir = path.join(root, 'data');
    const gen = generateHotKeyWal({ dataDir, calibrationDir: path.join(root, 'calibration'), mib: walMib, hits: KEY_CHANGES, segmentSize: segmentBytes });
    const key = gen.hotKeys[0]!.key;
    result.wal = { lines: gen.lines, bytes: gen.walBytes, segments: gen.segments.length, generateMs: gen.ms, key, keyChanges: gen.hotKeys[0]!.lines };
    log(
      `generated ${fmtInt(gen.lines)} lines in ${fmtMs(gen.ms)}: ${fmtBytes(gen.walBytes)} in ${gen.segments.length} segment(s) of ${fmtBytes(segmentBytes)}; ` +
        `hot keys ${gen.hotKeys.map((h) => `${h.key} x${h.lines}`).join(', ')}; the benchmark's key: ${key}`,
    );
    const setup = await runNodeChild<SetupResult>(setupChild, ['--dir', dataDir, '--level', String(LEVEL), ...common]);
    const a = setup.result;
    if (a.walLines !== gen.lines) throw new Error(`the archive holds ${a.walLines} lines, the WAL ${gen.lines}`);
    const manifest = await readManifest(a.file);
    const segs = manifest.contents.segments;
    const walMembersBytes = segs.reduce((n, s) => n + s.compressedSize, 0);
    result.archive = { archiveId: a.archiveId, bytes: a.bytes, members: segs.length, walMembersBytes, createMs: a.createMs };
    log(
      `archive ${a.archiveId}: ${fmtBytes(a.bytes)} (${fmtInt(a.bytes)} B; the WAL members ${fmtBytes(walMembersBytes)}, the snapshot ${fmtBytes(manifest.contents.snapshot.compressedSize)}, ` +
        `the rest PAR2 recovery data, manifest, checksums, tar headers), ${segs.length} WAL member(s), level ${LEVEL}, created and uploaded to s3rver in ${fmtMs(a.createMs)}`,
    );
    const membersDir = path.join(root, 'members');
    fs.mkdirSync(membersDir, { recursive: true });
    const untar = spawnSync('tar', ['-xf', a.file, '-C', membersDir, 'wal'], { encoding: 'utf8' });
    const unpacked = fs.existsSync(path.join(membersDir, 'wal')) ? fs.readdirSync(path.join(membersDir, 'wal')).filter((n) => n.endsWith('.wal.zst')) : [];
    if (untar.status !== 0 || unpacked.length !== segs.length) throw new Error(`tar -xf: ${unpacked.length} member(s) unpacked of ${segs.length}: ${untar.stderr}`);

    // 2. The moments, and the answers a replay of the raw WAL gives.
    const first = segs[0]!.firstTimestamp!;
    const last = segs[segs.length - 1]!.lastTimestamp!;
    const span = last - first;
    const mid = (s: (typeof segs)[number]) => Math.floor((s.firstTimestamp! + s.lastTimestamp!) / 2);
    const moments = [
      { name: 'early', at: mid(segs[0]!), where: 'the middle of the first segment' },
      { name: 'middle', at: first + Math.floor(span / 2), where: 'half the time range' },
      { name: 'late', at: mid(segs[segs.length - 1]!), where: 'the middle of the last segment' },
    ];
    const t1 = first + Math.floor(span / 3);
    const t2 = first + Math.floor((2 * span) / 3);
    result.moments = { first, last, ...Object.fromEntries(moments.map((m) => [m.name, m.at])), diffFrom: t1, diffTo: t2 };
    const expected = replayExpectations(gen.files, key, moments.map((m) => m.at), [t1, t2]);
    if (expected.lines !== gen.lines) throw new Error(`the replay read ${expected.lines} lines, ${gen.lines} were written`);
    const expHistory = historyDigest(expected.history);
    const expDiff = diffDigest(expected.diff!);
    log(
      `expected answers from a replay of the raw WAL (${fmtMs(expected.ms)}): ${key} has ${expected.history.length} change(s); ` +
        moments.map((m, i) => `${m.name} T=${m.at} (${m.where}, line ${fmtInt(expected.at[i]!.lines)})`).join(', ') +
        `; diff T1=${t1} (line ${fmtInt(expected.diffLines![0])}) .. T2=${t2} (line ${fmtInt(expected.diffLines![1])}): ` +
        `${fmtInt(expDiff.added)} added, ${fmtInt(expDiff.changed)} changed, ${fmtInt(expDiff.removed)} removed, ${fmtInt(expDiff.members)} set member(s) in ${expDiff.sets} set(s)`,
    );
    log(
      `"ours" = openRestore({ dataDir, config: { remotes: [s3] } }).history|read|diff(..., { source }), each in its own child, timed inside around the call (listing + plan + scan). ` +
        `"theirs" for history = one \`sh -c\` timed whole, on the members unpacked beforehand; for diff = two restores (toTimestamp T1, T2, each its own child, timed inside), added up. ` +
        `${runs} run(s), the order flipped each run; the tools' pipe ${TOOL_REPEATS} times per run. Every answer is checked against the replay.`,
    );

    const query = async (op: 'history' | 'read' | 'diff', source: 'local' | 's3', run: number, extra: string[], name: string = op): Promise<ChildRun<QueryResult> & { serverCpuMs: number | null }> => {
      const nodeFlags = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`, `--cpu-prof-name=tt-${name}-${source}-${run + 1}.cpuprofile`] : [];
      const cpu0 = source === 's3' ? procCpuMs(serverPid) : null;
      const c = await runNodeChild<QueryResult>(queryChild, ['--dir', dataDir, '--source', source, '--op', op, ...extra, ...common], { nodeFlags });
      const cpu1 = source === 's3' ? procCpuMs(serverPid) : null;
      return { ...c, serverCpuMs: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null };
    };
    const ourSample = (c: ChildRun<QueryResult> & { serverCpuMs: number | null }): Sample => ({
      ms: c.result.ms,
      cpuMs: c.result.cpuMs,
      peakRssKb: c.peakRssKb,
      processMs: c.wallMs,
      bytes: c.result.read.bytes,
      requests: c.result.read.requests,
      ...(c.serverCpuMs !== null ? { serverCpuMs: c.serverCpuMs } : {}),
    });
    const check = (what: string, ok: boolean, detail: string): void => {
      if (!ok) throw new Error(`${what}: ${detail}`);
    };
    const checkHistory = (c: ChildRun<QueryResult>, what: string): void =>
      check(what, c.result.answer.sha256 === expHistory, `${String(c.result.answer.entries)} entries, the replay has ${expected.history.length} (or they differ)`);
    const checkDiff = (c: ChildRun<QueryResult>, what: string): void =>
      check(what, c.result.answer.sha256 === expDiff.sha256, `${JSON.stringify(c.result.answer)} differs from the replay's ${JSON.stringify(expDiff)}`);

    const grepOut = path.join(root, 'grep.out');
    const needle = JSON.stringify(key);
    // Into a file: GNU grep writing to /dev/null stops at the first match.
    const grepScript = `T g-zstd zstd -dcq wal/*.wal.zst | T g-grep grep -F "$NEEDLE" > "$OUT"`;
    const grepOnce = async (): Promise<void> => {
      const r = await runTimedScript(grepScript, { cwd: membersDir, env: { NEEDLE: needle, OUT: grepOut } });
      if (r.exitCode !== 0) throw new Error(`the tools' pipe: exit code ${r.exitCode}: ${r.stderr.trim().slice(-300)}`);
      const lines = fs.readFileSync(grepOut, 'utf8').split('\n').filter((l) => l !== '');
      const targetLines = lines.filter((l) => l.includes(`"target":${needle}`)).length;
      if (result.grep === null) {
        result.grep = { lines: lines.length, targetLines };
        log(`grep -F '${needle}' finds ${lines.length} line(s), ${targetLines} with the key as the target; the replay ${expected.history.length} change(s)`);
      } else if (lines.length !== result.grep.lines) throw new Error(`grep found ${lines.length} lines, ${result.grep.lines} before`);
      const processCpuMs = Object.fromEntries(Object.entries(r.perProcess).map(([name, p]) => [name.replace(/^g-/, ''), p.cpuMs]));
      side.grep.samples.push({ ms: r.wallMs, cpuMs: r.cpuMs, peakRssKb: r.peakRssKb, processCpuMs });
    };

    const shows = moments.map((m) => ({ ...m, local: emptySide(`show --at ${m.name}, local`), s3: emptySide(`show --at ${m.name}, s3`) }));
    for (let i = 0; i < runs; i++) {
      const flip = i % 2 === 1;
      log(`--- run ${i + 1}/${runs} (${noteLoad(`run ${i + 1}`)})`);
      // History, local, against the tools on the same members.
      const grepBefore = side.grep.samples.length;
      const ourHistory = async (): Promise<void> => {
        const c = await query('history', 'local', i, ['--key', key]);
        checkHistory(c, `history, local, run ${i + 1}`);
        side.history.samples.push(ourSample(c));
      };
      const toolsFirst = Math.ceil(TOOL_REPEATS / 2);
      if (flip) {
        for (let k = 0; k < toolsFirst; k++) await grepOnce();
        await ourHistory();
        for (let k = toolsFirst; k < TOOL_REPEATS; k++) await grepOnce();
      } else {
        for (let k = 0; k < TOOL_REPEATS - toolsFirst; k++) await grepOnce();
        await ourHistory();
        for (let k = TOOL_REPEATS - toolsFirst; k < TOOL_REPEATS; k++) await grepOnce();
      }
      const theirsRun = median(side.grep.samples.slice(grepBefore).map((s) => s.ms));
      const oursRun = side.history.samples.at(-1)!;
      historyRatios.push(oursRun.ms / theirsRun);
      log(`  history: ours ${sampleText(oursRun)}, process ${fmtMs(oursRun.processMs ?? null)}; theirs ${side.grep.samples
          .slice(grepBefore)
          .map((s) => `${fmtMs(s.ms)} (CPU ${fmtMs(s.cpuMs)}${s.processCpuMs ? `: ${Object.entries(s.processCpuMs).map(([n, v]) => `${n} ${fmtMs(v)}`).join(', ')}` : ''})`)
          .join(', ')}`);

      // show --at T, local then s3 (s3 first on odd runs).
      for (const source of flip ? (['s3', 'local'] as const) : (['local', 's3'] as const)) {
        const line: string[] = [];
        for (const [j, m] of shows.entries()) {
          const c = await query('read', source, i, ['--key', key, '--at', String(m.at)], `show-${m.name}`);
          const want = expected.at[j]!.document;
          check(`show --at ${m.name}, ${source}, run ${i + 1}`, c.result.answer.document === want && c.result.answer.exists === (want !== null), `document ${String(c.result.answer.document).slice(0, 80)}..., the replay ${String(want).slice(0, 80)}...`);
          const s = ourSample(c);
          m[source].samples.push(s);
          line.push(`${m.name} ${sampleText(s)}`);
        }
        log(`  show ${source}: ${line.join('; ')}`);
      }

      // diff T1..T2, local, against two restores.
      const restoresOnce = async (): Promise<void> => {
        const parts: Array<ChildRun<RestoreRunResult>> = [];
        for (const [n, ts] of [t1, t2].entries()) {
          const target = path.join(root, `restore-${i}-${n}`);
          try {
            const c = await runNodeChild<RestoreRunResult>(restoreChild, ['--dir', dataDir, '--target', target, '--mode', 'timestamp', '--ts', String(ts)]);
            const want = expected.diffLines![n]!;
            check(`restore to T${n + 1}, run ${i + 1}`, c.result.linesRestored === want, `${c.result.linesRestored} lines restored, the replay has ${want} at T${n + 1}`);
            const docs = expected.diffStates[n]!.documents;
            check(`restore to T${n + 1}, run ${i + 1}`, c.result.documents === null || c.result.documents === docs, `${c.result.documents} documents restored, the replay has ${docs}`);
            parts.push(c);
          } finally {
            if (!keep) fs.rmSync(target, { recursive: true, force: true });
          }
        }
        side.restores.samples.push({
          ms: parts[0]!.result.restoreMs + parts[1]!.result.restoreMs,
          cpuMs: parts[0]!.result.cpuMs + parts[1]!.result.cpuMs,
          peakRssKb: Math.max(parts[0]!.peakRssKb ?? 0, parts[1]!.peakRssKb ?? 0) || null,
          processMs: parts[0]!.wallMs + parts[1]!.wallMs,
        });
        log(`  restores: T1 ${fmtMs(parts[0]!.result.restoreMs)} (CPU ${fmtMs(parts[0]!.result.cpuMs)}), T2 ${fmtMs(parts[1]!.result.restoreMs)} (CPU ${fmtMs(parts[1]!.result.cpuMs)}), peak RSS ${fmtRss(side.restores.samples.at(-1)!.peakRssKb)}`);
      };
      const ourDiff = async (): Promise<void> => {
        const c = await query('diff', 'local', i, ['--at', String(t1), '--to', String(t2)]);
        checkDiff(c, `diff, local, run ${i + 1}`);
        side.diff.samples.push(ourSample(c));
        log(`  diff: ours ${sampleText(side.diff.samples.at(-1)!)}`);
      };
      if (flip) {
        await restoresOnce();
        await ourDiff();
      } else {
        await ourDiff();
        await restoresOnce();
      }
      diffRatios.push(side.diff.samples.at(-1)!.ms / side.restores.samples.at(-1)!.ms);

      // From the remote: history and diff.
      const h = await query('history', 's3', i, ['--key', key]);
      checkHistory(h, `history, s3, run ${i + 1}`);
      side.historyS3.samples.push(ourSample(h));
      const d = await query('diff', 's3', i, ['--at', String(t1), '--to', String(t2)]);
      checkDiff(d, `diff, s3, run ${i + 1}`);
      side.diffS3.samples.push(ourSample(d));
      log(`  s3: history ${sampleText(side.historyS3.samples.at(-1)!)}; diff ${sampleText(side.diffS3.samples.at(-1)!)}`);
    }
    result.checks.push(
      `history (local and s3, every run): ${expected.history.length} entries, equal to the replay's (sha256 of line, time, action, key, value); grep: ${result.grep?.lines} line(s), ${result.grep?.targetLines} with the key as the target`,
      `show --at early/middle/late (local and s3, every run): the document equals the replay's at T`,
      `diff (local and s3, every run): ${expDiff.added} added, ${expDiff.changed} changed, ${expDiff.removed} removed, ${expDiff.members} set members: equal to the replay's (sha256)`,
      `restores to T1 and T2 (every run): the lines and documents restored equal the replay's at T1 and T2`,
    );
    result.history = compare(`history of one key (${expected.history.length} changes) vs zstd -dc | grep -F`, side.history, side.grep, HISTORY_TARGET, historyRatios);
    result.diff = compare('diff T1..T2 vs restore to T1 + restore to T2', side.diff, side.restores, DIFF_TARGET, diffRatios);
    result.show = shows.map((m) => ({ name: m.name, at: m.at, local: summarize(m.local), s3: summarize(m.s3) }));
    result.remote = { history: summarize(side.historyS3), diff: summarize(side.diffS3) };
  } catch (err) {
    result.error = (err as Error).stack ?? String(err);
    log(`timetravel bench failed: ${(err as Error).message}`);
  } finally {
    await server?.stop().catch(() => undefined);
    if (!keep) fs.rmSync(root, { recursive: true, force: true });
  }
  result.source.end = sourceState();
  if (result.source.end.srcSha256 !== result.source.start.srcSha256) log(`NOTE: src/ changed during the run (${sourceText(result.source.start)} -> ${sourceText(result.source.end)}): the figures may mix two versions`);

  // 3. The figures.
  const size = result.wal ? `${Math.round(result.wal.bytes / MIB)} MiB WAL` : '?';
  const archiveBytes = result.archive?.bytes ?? null;
  const ofArchive = (b: number | null): string => (b === null || archiveBytes === null ? 'n/a' : `${fmtBytes(b)} (${((100 * b) / archiveBytes).toFixed(1)}%)`);
  if (result.history && result.diff) {
    console.log('');
    console.log(
      formatTable(
        ['operation', 'ours', 'theirs', 'wall ours/theirs', 'median of runs', 'CPU ours / theirs', 'CPU ratio', 'peak RSS ours / theirs', 'target'],
        [result.history, result.diff].map((c) => [
          c.operation,
          fmtMs(c.ours.ms),
          fmtMs(c.theirs.ms),
          fmtRatio(c.ours.ms, c.theirs.ms),
          c.medianRunRatio === null ? '-' : `${c.medianRunRatio.toFixed(2)}x`,
          `${fmtMs(c.ours.cpuMs)} / ${fmtMs(c.theirs.cpuMs)}`,
          fmtRatio(c.ours.cpuMs, c.theirs.cpuMs),
          `${fmtRss(c.ours.peakRssKb)} / ${fmtRss(c.theirs.peakRssKb)}`,
          c.target,
        ]),
      ),
    );
    console.log('');
    const rows: string[][] = [];
    const row = (name: string, local: Side | null, s3: Side): string[] => [
      name,
      local ? fmtMs(local.ms) : '-',
      fmtMs(s3.ms),
      local ? ofArchive(local.bytes) : '-',
      ofArchive(s3.bytes),
      `${local?.requests ?? '-'} / ${s3.requests ?? '-'}`,
      fmtMs(s3.samples.length > 0 && s3.samples.every((s) => s.serverCpuMs !== undefined) ? median(s3.samples.map((s) => s.serverCpuMs!)) : null),
    ];
    rows.push(row('history', result.history.ours, result.remote!.history));
    for (const m of result.show) rows.push(row(`show --at ${m.name}`, m.local, m.s3));
    rows.push(row('diff T1..T2', result.diff.ours, result.remote!.diff));
    console.log(formatTable(['query', 'local', 's3', 'bytes read local (of the archive)', 'fetched from s3 (of the archive)', 'requests local / s3', 's3rver CPU'], rows));
    console.log('');
    log(
      `${size}, ${fmtInt(result.wal!.lines)} lines, archive ${archiveBytes !== null ? fmtBytes(archiveBytes) : '?'} (level ${LEVEL}, ${result.archive?.members} WAL members); medians of ${runs} run(s). ` +
        `Ours = the call inside its child (CPU: the child's, every thread; peak RSS: the whole child, node); theirs = the whole \`sh -c\` (CPU: user + system of both processes; peak RSS: both added up), ` +
        `or the two restores' calls added up (peak RSS: the larger). History per run: ${historyRatios.map((r) => `${r.toFixed(2)}x`).join(' ')}; diff per run: ${diffRatios.map((r) => `${r.toFixed(2)}x`).join(' ')}.`,
    );
    for (const c of result.checks) log(`checked: ${c}`);

    const summaryRow = (c: Comparison, operation: string): SummaryRow => ({
      operation: `${operation} (${size})`,
      oursMs: c.ours.ms,
      theirsMs: c.theirs.ms,
      ratio: c.ratio,
      cpuRatio: c.cpuRatio,
      oursRssKb: c.ours.peakRssKb,
      theirsRssKb: c.theirs.peakRssKb,
      target: c.target,
    });
    result.summaryRows.push(summaryRow(result.history, `history of one key (${result.wal!.keyChanges} changes) vs zstd -dc | grep -F; s3: ${fmtMs(result.remote!.history.ms)}, ${ofArchive(result.remote!.history.bytes)} fetched`));
    for (const m of result.show) {
      result.summaryRows.push({
        operation: `show --at T ${m.name}: ${ofArchive(m.local.bytes)} read; s3: ${fmtMs(m.s3.ms)}, ${m.s3.bytes === m.local.bytes ? 'the same' : ofArchive(m.s3.bytes)} fetched (${size})`,
        oursMs: m.local.ms,
        theirsMs: null,
        ratio: null,
        cpuRatio: null,
        oursRssKb: m.local.peakRssKb,
        theirsRssKb: null,
        target: '-',
      });
    }
    result.summaryRows.push(summaryRow(result.diff, `diff T1..T2 vs restore to T1 + to T2; s3: ${fmtMs(result.remote!.diff.ms)}, ${ofArchive(result.remote!.diff.bytes)} fetched`));
  }
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
  log(`results written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  if (result.error !== undefined) throw new Error(result.error.split('\n')[0]);
  return result;
}

// `tsx bench/timetravel.ts [--quick] [--tt-mib N] [--tt-runs N] [--tt-profile DIR]` runs it on its own.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runTimeTravelBench(resolveTimeTravelBenchOptions(process.argv.slice(2))).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
