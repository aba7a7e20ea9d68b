/**
 * The encryption benchmark (issue 16): what age encryption costs our create and our restore, on
 * the same data, encryption on against off (target: at most 1.1x), next to what `age` in the
 * pipeline costs the standard tools (`tar | zstd -3 -T2 | age -r` against the same without age,
 * and `age -d | zstd -d | tar -x` against `zstd -d | tar -x`).
 *
 * One WAL of N MiB (default 50, --quick 8) is generated once; then, run by run, interleaved (the
 * order of on/off flips every run), each side in its own process:
 *   - create: our create at level 3 (children/encryption-create.ts, a fresh copy of the data
 *     directory each time), encryption off and on; the tools' pipeline without and with age;
 *   - restore latest: our restore of the plain and of the encrypted archive (children/encryption-restore.ts,
 *     with the identity file), the tools' unpacking without and with age.
 *
 * Run: `npm run bench -- --only encryption [--quick] [--encryption-mib N] [--encryption-runs N]`,
 * or `tsx bench/encryption.ts [same flags]`.
 * Environment: BENCH_ENCRYPTION_MIB, BENCH_TMP (where data dirs go), BENCH_KEEP=1 (keep them),
 * BENCH_NODE_FLAGS (extra node flags for our children, e.g. "--cpu-prof --cpu-prof-dir=.bench/prof").
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { flag, positive, positiveInt } from './lib/args.js';
import { benchRoot, hasGnuTime, machineInfo, median, runNodeChild, siblingPath, toolVersion, type MachineInfo } from './lib/measure.js';
import { runTimedScript, type ScriptRun } from './lib/script.js';
import { generateWalOfMib } from './lib/sized-wal.js';
import type { SummaryRow } from './lib/summary.js';
import { fmtBytes, fmtInt, fmtMs, fmtRatio, fmtRss, formatTable, ratio } from './lib/table.js';

export const DEFAULT_ENCRYPTION_MIB = 50;
export const QUICK_ENCRYPTION_MIB = 8;
export const DEFAULT_ENCRYPTION_RUNS = 5;
export const QUICK_ENCRYPTION_RUNS = 3;
/** The zstd level of both sides. */
const LEVEL = 3;
/** The tools' pipelines take a fraction of a second: each runs this many times per run (on/off order flipped each time), against the noise. */
const TOOL_REPEATS = 3;
/** What encryption on may cost, on/off (issue 16). */
const TARGET = '<= 1.1x';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_FILE = path.join(REPO_ROOT, '.bench', 'encryption.json');

export interface EncryptionBenchOptions {
  /** Size of the generated WAL in MiB (default 50; quick: 8). */
  walMib?: number;
  /** Runs of every measurement, interleaved (default 5; quick: 3); the medians are compared. */
  runs?: number;
  quick?: boolean;
  log?: (line: string) => void;
}

/** Options from flags (`--encryption-mib N`, `--encryption-runs N`) and the environment; `quick` from the caller (bench/run.ts) or `--quick`. */
export function resolveEncryptionBenchOptions(argv: readonly string[], quick = argv.includes('--quick'), env: NodeJS.ProcessEnv = process.env): EncryptionBenchOptions {
  const opts: EncryptionBenchOptions = { quick };
  const walMib = positive(flag(argv, 'encryption-mib'), '--encryption-mib') ?? positive(env.BENCH_ENCRYPTION_MIB, 'BENCH_ENCRYPTION_MIB');
  const runs = positiveInt(flag(argv, 'encryption-runs'), '--encryption-runs');
  if (walMib !== undefined) opts.walMib = walMib;
  if (runs !== undefined) opts.runs = runs;
  return opts;
}

interface CreateChildResult {
  createMs: number;
  cpuMs: number;
  phaseStartMs: Record<string, number>;
  archiveId: string;
  file: string;
  bytes: number;
  encryption: string | null;
  walLines: number;
  members: string[];
  compressedSize: number;
  maxRssKb: number;
}

interface RestoreChildResult {
  restoreMs: number;
  cpuMs: number;
  marks: Record<string, number>;
  linesRestored: number;
  archiveId: string;
  encryption: string | null;
  maxRssKb: number;
}

/** One measured run of one side. */
export interface Sample {
  /** Ours: timed inside the child around the call; tools: the whole `sh -c`. */
  ms: number;
  cpuMs: number | null;
  peakRssKb: number | null;
  /** Ours: the child from spawn to exit (node start-up included). */
  processMs?: number;
  /** Ours: when each part started, ms from the start of the call. */
  phases?: Record<string, number>;
  bytes?: number;
}

/** The runs of one side and their medians (peak RSS: the largest). */
export interface Side {
  label: string;
  samples: Sample[];
  ms: number | null;
  cpuMs: number | null;
  peakRssKb: number | null;
  bytes: number | null;
  error?: string;
}

/** Two sides of one comparison: `a` is the reference (off, plain, the tools), `b` the measured one. */
export interface Pair {
  operation: string;
  a: Side;
  b: Side;
  /** b / a of the medians. */
  ratio: number | null;
  cpuRatio: number | null;
  /** b / a of each run (interleaved runs only: the k-th sample of b against the k-th of a). */
  runRatios: number[];
  /** The median of runRatios (steadier than the ratio of the medians when the machine is busy). */
  medianRunRatio: number | null;
  target: string;
}

export interface EncryptionBenchResult {
  startedAt: string;
  machine: MachineInfo;
  tools: Record<string, string>;
  options: { walMib: number; runs: number; level: number; quick: boolean };
  wal: { lines: number; bytes: number; segments: number; generateMs: number } | null;
  recipient: string | null;
  loadAverages: Array<{ at: string; load: number[] }>;
  /** Ours on/off, the tools with age / without, ours encrypted / the tools with age. */
  pairs: Pair[];
  /** Why the tools' side did not run (no age, zstd or tar), else null. */
  toolsSkipped: string | null;
  summaryRows: SummaryRow[];
}

const emptySide = (label: string): Side => ({ label, samples: [], ms: null, cpuMs: null, peakRssKb: null, bytes: null });

function summarize(side: Side): Side {
  const s = side.samples;
  if (s.length === 0) return side;
  const cpu = s.map((x) => x.cpuMs).filter((x): x is number => x !== null);
  const rss = s.map((x) => x.peakRssKb).filter((x): x is number => x !== null);
  const bytes = s.map((x) => x.bytes).filter((x): x is number => x !== undefined);
  return {
    ...side,
    ms: median(s.map((x) => x.ms)),
    cpuMs: cpu.length === s.length ? median(cpu) : null,
    peakRssKb: rss.length > 0 ? Math.max(...rss) : null,
    bytes: bytes.length > 0 ? bytes[bytes.length - 1]! : null,
  };
}

function pair(operation: string, a: Side, b: Side, target: string, interleaved: boolean): Pair {
  const A = summarize(a);
  const B = summarize(b);
  const runRatios: number[] = [];
  if (interleaved) for (let i = 0; i < Math.min(A.samples.length, B.samples.length); i++) runRatios.push(B.samples[i]!.ms / A.samples[i]!.ms);
  return { operation, a: A, b: B, ratio: ratio(B.ms, A.ms), cpuRatio: ratio(B.cpuMs, A.cpuMs), runRatios, medianRunRatio: runRatios.length > 0 ? median(runRatios) : null, target };
}

function fromScript(run: ScriptRun, bytes?: number): Sample {
  return { ms: run.wallMs, cpuMs: run.cpuMs, peakRssKb: run.peakRssKb, ...(bytes !== undefined ? { bytes } : {}) };
}

function sampleText(s: Sample): string {
  return `${fmtMs(s.ms)} (CPU ${fmtMs(s.cpuMs)}, peak RSS ${fmtRss(s.peakRssKb)}${s.processMs !== undefined ? `, process ${fmtMs(s.processMs)}` : ''}${s.bytes !== undefined ? `, ${fmtBytes(s.bytes)}` : ''})`;
}

function toolSampleText(s: Sample): string {
  return `${fmtMs(s.ms)} (CPU ${fmtMs(s.cpuMs)})`;
}

/** The on/off order of one run, TOOL_REPEATS times, flipped each time: [off, on] -> [off, on, on, off, off, on]. */
function repeated(order: ReadonlyArray<'off' | 'on'>): Array<'off' | 'on'> {
  const out: Array<'off' | 'on'> = [];
  for (let k = 0; k < TOOL_REPEATS; k++) out.push(...(k % 2 === 0 ? order : [...order].reverse()));
  return out;
}

/** How long each part lasted, from the ms at which each started (`start` at 0 added), in order. */
function phaseText(starts: Record<string, number> | undefined, totalMs: number): string {
  if (starts === undefined) return '-';
  const entries = Object.entries(starts).sort((x, y) => x[1] - y[1]);
  if ((entries[0]?.[1] ?? 0) > 1) entries.unshift(['(start)', 0]);
  return entries.map(([k, v], i) => `${k} ${fmtMs((entries[i + 1]?.[1] ?? totalMs) - v)}`).join(', ');
}

/** A restore's marks (hooks and progress phases) as named parts, when each started. */
function restoreParts(m: Record<string, number> | undefined): Record<string, number> | undefined {
  if (m === undefined) return undefined;
  const out: Record<string, number> = { 'scan + plan + lock': 0 };
  if (m.beforeRestore !== undefined) out['read + decrypt + check + replay + write'] = m.beforeRestore;
  if (m.recovery !== undefined) out['PAR2 audit'] = m.recovery;
  if (m.fsync !== undefined) out.fsync = m.fsync;
  if (m.swap !== undefined) out['swap + after'] = m.swap;
  return out;
}

/** Whether every file of `files` (names) in `dirA` equals the one of the same name in `dirB`. */
function sameFiles(dirA: string, dirB: string, files: readonly string[]): string | null {
  for (const n of files) {
    const a = path.join(dirA, n);
    if (!fs.existsSync(a)) return `${n} is missing`;
    if (spawnSync('cmp', ['-s', a, path.join(dirB, n)]).status !== 0) return `${n} differs from the source segment`;
  }
  return null;
}

/** Runs the encryption benchmark, prints its figures and a table, and writes `.bench/encryption.json`. */
export async function runEncryptionBench(opts: EncryptionBenchOptions = {}): Promise<EncryptionBenchResult> {
  const log = opts.log ?? ((s: string) => console.log(`[encryption] ${s}`));
  const quick = opts.quick ?? false;
  const walMib = opts.walMib ?? (quick ? QUICK_ENCRYPTION_MIB : DEFAULT_ENCRYPTION_MIB);
  const runs = opts.runs ?? (quick ? QUICK_ENCRYPTION_RUNS : DEFAULT_ENCRYPTION_RUNS);
  const gnuTime = hasGnuTime();
  const root = benchRoot('encryption');
  const keep = process.env.BENCH_KEEP === '1';
  const cpus = os.cpus();
  const tools: Record<string, string> = {
    age: toolVersion('age', ['--version']),
    zstd: toolVersion('zstd', ['--version']),
    tar: toolVersion('tar', ['--version']),
  };
  const result: EncryptionBenchResult = {
    startedAt: new Date().toISOString(),
    machine: machineInfo(root, gnuTime),
    tools,
    options: { walMib, runs, level: LEVEL, quick },
    wal: null,
    recipient: null,
    loadAverages: [],
    pairs: [],
    toolsSkipped: null,
    summaryRows: [],
  };
  const noteLoad = (at: string): string => {
    const load = os.loadavg().map((l) => Math.round(l * 100) / 100);
    result.loadAverages.push({ at, load });
    return `load average ${load.join(' ')} (${cpus.length} CPUs)`;
  };
  const createChild = siblingPath(import.meta.url, 'children', 'encryption-create.ts');
  const restoreChild = siblingPath(import.meta.url, 'children', 'encryption-restore.ts');
  const missing = ['age', 'zstd', 'tar'].filter((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).status !== 0);
  result.toolsSkipped = missing.length > 0 ? `not installed: ${missing.join(', ')}` : null;
  log(
    `${cpus.length} CPU(s) ${result.machine.cpuModel}, node ${process.version}; age ${tools.age}; ${tools.zstd}; ${tools.tar}; data in ${root}; ` +
      `peak RSS from ${gnuTime ? "GNU time (/usr/bin/time -f '%M')" : "the children's process.resourceUsage().maxRSS (standard tools: n/a)"}; ${noteLoad('start')}`,
  );
  if (result.toolsSkipped !== null) log(`the standard tools' side is skipped: ${result.toolsSkipped}`);

  const side = {
    createOff: emptySide(`ours create L${LEVEL}, no encryption`),
    createOn: emptySide(`ours create L${LEVEL}, age`),
    tarPlain: emptySide(`tar | zstd -${LEVEL} -T2 > out`),
    tarAge: emptySide(`tar | zstd -${LEVEL} -T2 | age -r R > out`),
    restoreOff: emptySide('ours restore latest, plain archive'),
    restoreOn: emptySide('ours restore latest, encrypted (identity)'),
    untarPlain: emptySide('zstd -d | tar -x'),
    untarAge: emptySide('age -d -i key | zstd -d | tar -x'),
  };
  const failures: string[] = [];
  try {
    // The key pair: the identity in a file (one line, as age-keygen writes it, with its comments).
    const identity = await generateIdentity();
    const recipient = await identityToRecipient(identity);
    result.recipient = recipient;
    const keyFile = path.join(root, 'key.txt');
    fs.writeFileSync(keyFile, `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`, { mode: 0o600 });

    // The data: one WAL, archived by every run from a fresh copy (create seals the WAL and records the archive in the directory).
    const template = path.join(root, 'template');
    const gen = generateWalOfMib({ dataDir: template, calibrationDir: path.join(root, 'calibration'), mib: walMib });
    const segments = gen.files.map((f) => path.basename(f));
    result.wal = { lines: gen.lines, bytes: gen.walBytes, segments: segments.length, generateMs: gen.ms };
    const sourceWal = path.join(template, 'wal');
    log(`generated ${fmtInt(gen.lines)} lines in ${fmtMs(gen.ms)}: ${fmtBytes(gen.walBytes)} (${fmtInt(gen.walBytes)} B) in ${segments.length} segment(s); recipient ${recipient}`);
    log(
      `"ours" = new ArchiveApi(offlineHost(dir), { compression: { level: ${LEVEL} }[, encryption: { recipients: [R] }] }).create() and ` +
        `openRestore({ dataDir, config }).fromLatest({ targetDir[, identity: key.txt] }), each in its own child, timed inside around the call ` +
        `(PAR2 on, as by default, both ways). "theirs" = one \`sh -c\` pipeline timed whole, on the same wal/ (no sha256sum, no sync: the pipeline as written). ` +
        `${runs} run(s) of each (the tools' pipelines ${TOOL_REPEATS} times per run), interleaved (on/off order flipped every time); the medians are compared.`,
    );

    // 1. Create.
    const theirsDir = path.join(root, 'theirs');
    fs.mkdirSync(theirsDir, { recursive: true });
    const plainOut = path.join(theirsDir, 'wal.tar.zst');
    const ageOut = path.join(theirsDir, 'wal.tar.zst.age');
    const sources: Record<'off' | 'on', string | null> = { off: null, on: null };
    let archiveBytes: Record<'off' | 'on', number | null> = { off: null, on: null };
    log(`--- create (${noteLoad('create')})`);
    for (let i = 0; i < runs; i++) {
      const order: Array<'off' | 'on'> = i % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
      const line: string[] = [];
      for (const mode of order) {
        const dir = path.join(root, `create-${mode}-${i}`);
        const target = mode === 'on' ? side.createOn : side.createOff;
        if (target.error !== undefined) continue;
        try {
          fs.cpSync(template, dir, { recursive: true });
          const c = await runNodeChild<CreateChildResult>(createChild, ['--dir', dir, '--level', String(LEVEL), ...(mode === 'on' ? ['--recipient', recipient] : [])]);
          const r = c.result;
          if (r.walLines !== gen.lines) throw new Error(`the archive holds ${r.walLines} lines, the WAL ${gen.lines}`);
          if ((r.encryption === 'age') !== (mode === 'on')) throw new Error(`the archive's encryption is ${r.encryption ?? 'none'}, expected ${mode === 'on' ? 'age' : 'none'}`);
          if (mode === 'on' && !r.members.every((m) => m.endsWith('.zst.age'))) throw new Error(`members not all *.zst.age: ${r.members.join(', ')}`);
          target.samples.push({ ms: r.createMs, cpuMs: r.cpuMs, peakRssKb: c.peakRssKb, processMs: c.wallMs, phases: r.phaseStartMs, bytes: r.bytes });
          archiveBytes = { ...archiveBytes, [mode]: r.bytes };
          line.push(`ours ${mode} ${sampleText(target.samples[target.samples.length - 1]!)}`);
          // The last run's directory is kept: the restores restore its archive.
          const previous = sources[mode];
          sources[mode] = dir;
          if (previous !== null) fs.rmSync(previous, { recursive: true, force: true });
        } catch (err) {
          target.error = (err as Error).message;
          failures.push(`ours create ${mode}: ${target.error}`);
          log(`  ours create ${mode} FAILED: ${target.error}`);
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
      if (result.toolsSkipped === null) {
        for (const mode of repeated(order)) {
          const target = mode === 'on' ? side.tarAge : side.tarPlain;
          if (target.error !== undefined) continue;
          const out = mode === 'on' ? ageOut : plainOut;
          fs.rmSync(out, { force: true });
          const script =
            mode === 'on'
              ? `T p-tar tar -cf - wal | T p-zstd zstd -${LEVEL} -T2 -q -c | T p-age age -r "$RECIPIENT" > "$OUT"`
              : `T p-tar tar -cf - wal | T p-zstd zstd -${LEVEL} -T2 -q -c > "$OUT"`;
          const run = await runTimedScript(script, { cwd: template, env: { OUT: out, RECIPIENT: recipient } });
          const bytes = fs.existsSync(out) ? fs.statSync(out).size : 0;
          if (run.exitCode !== 0 || bytes === 0) {
            target.error = `exit code ${run.exitCode}, ${bytes} B written: ${run.stderr.trim().slice(-300)}`;
            failures.push(`${target.label}: ${target.error}`);
            log(`  theirs ${target.label} FAILED: ${target.error}`);
            continue;
          }
          target.samples.push(fromScript(run, bytes));
          line.push(`theirs ${mode === 'on' ? 'age' : 'plain'} ${toolSampleText(target.samples[target.samples.length - 1]!)}`);
        }
      }
      log(`  run ${i + 1}/${runs}: ${line.join('; ')}`);
    }
    // Their outputs hold the WAL (checked once, not timed).
    if (result.toolsSkipped === null && side.tarPlain.error === undefined && side.tarAge.error === undefined) {
      for (const [out, cmd] of [
        [plainOut, `zstd -dcq "$F" | tar -tf -`],
        [ageOut, `age -d -i "$KEY" "$F" | zstd -dcq | tar -tf -`],
      ] as const) {
        const l = spawnSync('sh', ['-c', cmd], { env: { ...process.env, F: out, KEY: keyFile }, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
        const listed = l.stdout.split('\n').filter((n) => n.endsWith('.wal')).length;
        if (listed !== segments.length) {
          const target = out === ageOut ? side.tarAge : side.tarPlain;
          target.error = `${path.basename(out)} lists ${listed} segments, wal/ has ${segments.length}: ${l.stderr.trim().slice(-300)}`;
          failures.push(`${target.label}: ${target.error}`);
          log(`  theirs ${target.label}: ${target.error}`);
        }
      }
    }

    // 2. Restore latest: ours from the archives of the last create runs, theirs from their outputs.
    log(`--- restore latest (${noteLoad('restore')})`);
    const unpackDir = path.join(root, 'unpack');
    for (let i = 0; i < runs; i++) {
      const order: Array<'off' | 'on'> = i % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
      const line: string[] = [];
      for (const mode of order) {
        const target = mode === 'on' ? side.restoreOn : side.restoreOff;
        const dataDir = sources[mode];
        if (target.error !== undefined || dataDir === null) continue;
        const targetDir = path.join(root, `restore-${mode}-${i}`);
        try {
          const c = await runNodeChild<RestoreChildResult>(restoreChild, ['--dir', dataDir, '--target', targetDir, ...(mode === 'on' ? ['--recipient', recipient, '--identity', keyFile] : [])], {
            // No identity from the environment: the plain restore must not need one, the encrypted one gets the file.
            env: { ...process.env, BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: '' },
          });
          const r = c.result;
          if (r.linesRestored !== gen.lines) throw new Error(`${r.linesRestored} lines restored, the WAL has ${gen.lines}`);
          if ((r.encryption === 'age') !== (mode === 'on')) throw new Error(`restored from an archive encrypted with ${r.encryption ?? 'nothing'}`);
          if (i === 0) {
            const problem = sameFiles(path.join(targetDir, 'wal'), sourceWal, segments);
            if (problem) throw new Error(`the restored wal/: ${problem}`);
          }
          target.samples.push({ ms: r.restoreMs, cpuMs: r.cpuMs, peakRssKb: c.peakRssKb, processMs: c.wallMs, phases: restoreParts(r.marks) });
          line.push(`ours ${mode} ${sampleText(target.samples[target.samples.length - 1]!)}`);
        } catch (err) {
          target.error = (err as Error).message;
          failures.push(`ours restore ${mode}: ${target.error}`);
          log(`  ours restore ${mode} FAILED: ${target.error}`);
        } finally {
          if (!keep) for (const e of fs.readdirSync(root)) if (e.startsWith(`restore-${mode}-${i}`)) fs.rmSync(path.join(root, e), { recursive: true, force: true });
        }
      }
      if (result.toolsSkipped === null) {
        for (const mode of repeated(order)) {
          const target = mode === 'on' ? side.untarAge : side.untarPlain;
          const made = mode === 'on' ? side.tarAge : side.tarPlain;
          if (target.error !== undefined || made.error !== undefined) continue;
          fs.rmSync(unpackDir, { recursive: true, force: true });
          fs.mkdirSync(unpackDir, { recursive: true });
          const script =
            mode === 'on' ? `T p-age age -d -i "$KEY" "$IN" | T p-zstd zstd -dcq | T p-tar tar -xf -` : `T p-zstd zstd -dcq "$IN" | T p-tar tar -xf -`;
          const run = await runTimedScript(script, { cwd: unpackDir, env: { IN: mode === 'on' ? ageOut : plainOut, KEY: keyFile } });
          const problem = run.exitCode !== 0 ? `exit code ${run.exitCode}: ${run.stderr.trim().slice(-300)}` : i === 0 ? sameFiles(path.join(unpackDir, 'wal'), sourceWal, segments) : null;
          if (problem !== null) {
            target.error = problem;
            failures.push(`${target.label}: ${problem}`);
            log(`  theirs ${target.label} FAILED: ${problem}`);
            continue;
          }
          target.samples.push(fromScript(run));
          line.push(`theirs ${mode === 'on' ? 'age' : 'plain'} ${toolSampleText(target.samples[target.samples.length - 1]!)}`);
        }
      }
      log(`  run ${i + 1}/${runs}: ${line.join('; ')}`);
    }
    if (archiveBytes.off !== null && archiveBytes.on !== null) {
      log(`archive sizes: plain ${fmtBytes(archiveBytes.off)} (${fmtInt(archiveBytes.off)} B), encrypted ${fmtBytes(archiveBytes.on)} (${fmtInt(archiveBytes.on)} B, ${fmtRatio(archiveBytes.on, archiveBytes.off)})`);
    }
  } finally {
    if (!keep) fs.rmSync(root, { recursive: true, force: true });
  }

  // 3. The figures.
  const size = result.wal ? `${Math.round(result.wal.bytes / 1024 / 1024)} MiB` : '?';
  const withTools = result.toolsSkipped === null;
  result.pairs = [
    pair(`create L${LEVEL}: encryption on / off`, side.createOff, side.createOn, TARGET, true),
    pair('restore latest: encrypted / plain', side.restoreOff, side.restoreOn, TARGET, true),
    ...(withTools
      ? [
          pair(`tools: tar | zstd -${LEVEL} -T2 | age -r / without age`, side.tarPlain, side.tarAge, '-', true),
          pair('tools: age -d | zstd -d | tar -x / without age', side.untarPlain, side.untarAge, '-', true),
          // Not one sample against one (the tools run TOOL_REPEATS times per run): the medians only.
          pair(`ours encrypted create / tar | zstd -${LEVEL} -T2 | age -r`, side.tarAge, side.createOn, '-', false),
          pair('ours encrypted restore / age -d | zstd -d | tar -x', side.untarAge, side.restoreOn, '-', false),
        ]
      : []),
  ];
  log(`end: ${noteLoad('end')}`);
  for (const p of result.pairs) {
    const added = p.a.ms !== null && p.b.ms !== null ? p.b.ms - p.a.ms : null;
    const perRun = p.runRatios.length > 0 ? `; per run ${p.runRatios.map((r) => `${r.toFixed(2)}x`).join(' ')} (median ${p.medianRunRatio!.toFixed(2)}x)` : '';
    log(`${p.operation}: ${fmtMs(p.b.ms)} / ${fmtMs(p.a.ms)} = ${fmtRatio(p.b.ms, p.a.ms)} (difference ${fmtMs(added)}), CPU ${fmtRatio(p.b.cpuMs, p.a.cpuMs)}${perRun}`);
  }
  // Where our time goes, on and off (the median run's phases; ms each phase lasted).
  const medianRun = (s: Side): Sample | undefined => [...s.samples].sort((x, y) => x.ms - y.ms)[(s.samples.length - 1) >> 1];
  for (const [label, off, on] of [
    ['create', side.createOff, side.createOn],
    ['restore', side.restoreOff, side.restoreOn],
  ] as const) {
    const a = medianRun(off);
    const b = medianRun(on);
    if (a && b) log(`ours ${label}, how long each part lasted (median run, from the progress events and hooks):\n    off: ${phaseText(a.phases, a.ms)}\n    on:  ${phaseText(b.phases, b.ms)}`);
  }
  const rows = result.pairs.map((p) => [
    p.operation,
    fmtMs(p.b.ms),
    fmtMs(p.a.ms),
    fmtRatio(p.b.ms, p.a.ms),
    p.medianRunRatio === null ? '-' : `${p.medianRunRatio.toFixed(2)}x`,
    `${fmtMs(p.b.cpuMs)} / ${fmtMs(p.a.cpuMs)}`,
    fmtRatio(p.b.cpuMs, p.a.cpuMs),
    `${fmtRss(p.b.peakRssKb)} / ${fmtRss(p.a.peakRssKb)}`,
    p.target,
  ]);
  console.log('');
  console.log(formatTable(['operation (b / a)', 'b', 'a', 'wall b/a', 'median of runs', 'CPU b / a', 'CPU b/a', 'peak RSS b / a', 'target'], rows));
  console.log('');
  log(
    `WAL ${size}, ${result.wal ? fmtInt(result.wal.lines) : '?'} lines, level ${LEVEL}, medians of ${runs} interleaved run(s) (the tools: ${runs} x ${TOOL_REPEATS}); "median of runs" = the median of the on/off ratios of each run (pairs measured one after the other). Ours = the call inside its child (CPU and peak RSS: ` +
      `the whole child, node); theirs = the whole \`sh -c\` (CPU: GNU time's user + system of each process, added up; peak RSS: the processes of the pipe added up).`,
  );
  if (failures.length > 0) log(`problems: ${failures.join('; ')}`);

  const summaryRow = (p: Pair, operation: string): SummaryRow => ({
    operation: `${operation} (${size})`,
    oursMs: p.b.ms,
    theirsMs: p.a.ms,
    ratio: p.ratio,
    cpuRatio: p.cpuRatio,
    oursRssKb: p.b.peakRssKb,
    theirsRssKb: p.a.peakRssKb,
    target: p.target,
  });
  const byOp = (prefix: string): Pair | undefined => result.pairs.find((p) => p.operation.startsWith(prefix));
  const wanted: Array<[string, string]> = [
    [`create L${LEVEL}: encryption on`, `create L${LEVEL} with age / without`],
    ['restore latest: encrypted', 'restore latest, encrypted (identity) / plain'],
    ['ours encrypted create', `create L${LEVEL} with age vs tar|zstd -${LEVEL} -T2|age -r`],
    ['ours encrypted restore', 'restore latest with age vs age -d|zstd -d|tar -x'],
  ];
  for (const [prefix, operation] of wanted) {
    const p = byOp(prefix);
    if (p) result.summaryRows.push(summaryRow(p, operation));
  }
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
  log(`results written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  return result;
}

// `tsx bench/encryption.ts [--quick] [--encryption-mib N] [--encryption-runs N]` runs it on its own.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runEncryptionBench(resolveEncryptionBenchOptions(process.argv.slice(2))).catch((err: unknown) => {
    console.error(err);
  });
}
