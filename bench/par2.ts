/**
 * PAR2 benchmark: our create / verify / repair against par2cmdline on the
 * same files, in the same run.
 *
 *   npx tsx bench/par2.ts [--sizes 50,200] [--damage 0.05] [--runs 3]
 *   npm run bench -- --only par2 [--quick]
 *
 * For each size (MB = 10^6 bytes) a partly compressible file is generated in
 * a temp directory (BENCH_TMP, else the OS temp dir), then:
 *
 *   create  ours: createPar2, redundancy 0.1 (about 2000 slices of the file)
 *           theirs: par2 create -r10 -n1 (par2cmdline's default 2000 slices)
 *   verify  of the intact file, each with its own set (ours: read + verify)
 *   repair  of a copy with ~5% of its slices damaged (one flipped byte
 *           each, the same bytes for both); ours: read + verify + repair to
 *           a new file, par2: repair in place; both results are checked
 *           against the original's MD5
 *
 * Our side runs in a child process (bench/par2-runner.ts) so that its peak
 * RSS and CPU time are measured like par2's: GNU time (`%U %S %M`, all
 * threads) when present, else the child's own figures (par2's are then
 * "n/a"). Times: "ours" is the operation measured inside the child (without
 * Node and tsx start-up, which are not PAR2's cost); the child's whole
 * process time is shown beside it. CPU time is the fairer figure on a busy
 * machine, where wall times of multithreaded programs swing. Ratios are
 * ours/theirs: below 1 means we are faster or smaller.
 *
 * BENCH_NODE_FLAGS adds node flags to our child, e.g.
 * `--experimental-wasm-relaxed-simd` to see the relaxed-SIMD kernel on
 * Node 20 (the default on newer Node).
 */

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RESULT_PREFIX } from './lib/child.js';
import { GNU_TIME_PATH, hasGnuTime, siblingPath } from './lib/measure.js';
import { fmtMs, fmtRatio, fmtRss, formatTable } from './lib/table.js';
import { flag } from './lib/args.js';

export interface Par2BenchOptions {
  /** File sizes in MB (10^6 bytes). Default [50, 200]; [20] when quick. */
  sizesMB?: number[];
  /** Fraction of slices damaged for the repair run. Default 0.05. */
  damageFraction?: number;
  /** Times each measurement is repeated (median kept). Default 1. */
  runs?: number;
  /** Smaller sizes for a smoke run (used by bench/run.ts). */
  quick?: boolean;
  /** Command-line arguments (--sizes, --damage), as bench/run.ts passes them. */
  argv?: readonly string[];
  /** Where output goes. Default console.log. */
  log?: (line: string) => void;
}

export interface Par2BenchRow {
  sizeMB: number;
  op: 'create' | 'verify' | 'repair';
  /** Our operation's wall time (inside the child) and the child's whole process time, ms. */
  oursMs: number;
  oursProcessMs: number;
  /** CPU time (user + system, all threads) of the whole process, ms; null when unknown. */
  oursCpuMs: number | null;
  oursRssKb: number | null;
  theirsMs: number;
  theirsCpuMs: number | null;
  theirsRssKb: number | null;
}

/** A finished process: wall time measured here, CPU and peak RSS from GNU time when present. */
interface Timed {
  wallMs: number;
  cpuMs: number | null;
  rssKb: number | null;
  code: number | null;
  stdout: string;
  stderr: string;
}

interface RunnerResult {
  op: string;
  opMs: number;
  cpuMs: number;
  maxRssKb?: number;
  result: Record<string, unknown>;
}

const RUNNER = siblingPath(import.meta.url, 'par2-runner.ts');
/** par2cmdline's default slice count, which our automatic layout also aims for. */
const SLICES = 2000;

export function hasPar2Binary(): boolean {
  return spawnSync('par2', ['-V'], { stdio: 'ignore' }).status === 0;
}

/** Writes `bytes` of partly compressible data (random 4 KiB blocks, every fourth one a text run); returns its MD5. */
async function generateFile(path: string, bytes: number, seed: number): Promise<string> {
  const fh = await open(path, 'w');
  const hash = createHash('md5');
  try {
    const chunk = Buffer.alloc(4 * 1024 * 1024);
    let x = seed >>> 0 || 1;
    const text = Buffer.from('BRI archive line {"op":"SET","key":"user:000123","value":{"name":"x"}}\n');
    for (let done = 0; done < bytes; ) {
      const n = Math.min(chunk.length, bytes - done);
      for (let off = 0; off < n; off += 4096) {
        const end = Math.min(n, off + 4096);
        if (((done + off) >> 12) % 4 === 3) {
          for (let i = off; i < end; i++) chunk[i] = text[i % text.length]!;
        } else {
          for (let i = off; i < end; i += 4) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            chunk.writeUInt32LE(x >>> 0, i);
          }
        }
      }
      const part = chunk.subarray(0, n);
      hash.update(part);
      await fh.write(part, 0, n, done);
      done += n;
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

/** Flips one byte in `fraction` of the file's slices (evenly spread). */
async function damage(path: string, bytes: number, fraction: number): Promise<number> {
  const blockSize = Math.ceil(bytes / SLICES / 4) * 4;
  const blocks = Math.ceil(bytes / blockSize);
  const count = Math.max(1, Math.round(blocks * fraction));
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    for (let k = 0; k < count; k++) {
      const block = Math.floor((k * blocks) / count);
      const at = Math.min(bytes - 1, block * blockSize + ((k * 7919) % blockSize));
      await fh.read(b, 0, 1, at);
      b[0] = b[0]! ^ 0xa5;
      await fh.write(b, 0, 1, at);
    }
  } finally {
    await fh.close();
  }
  return count;
}

/** The element with the median key (the lower middle one for an even count). */
function medianBy<T>(items: T[], key: (x: T) => number): T {
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  return sorted[(sorted.length - 1) >> 1]!;
}

/** Removes the .par2 files of a directory (par2 create refuses to overwrite them). */
async function removePar2Files(dir: string): Promise<void> {
  for (const f of await readdir(dir)) if (f.endsWith('.par2')) await rm(join(dir, f), { force: true });
}

async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(4 * 1024 * 1024);
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

/**
 * Runs a command and measures it. GNU time (`%e %U %S %M`) gives CPU time of
 * all its threads and peak RSS; without it, both are unknown here (our child
 * reports its own).
 */
async function timed(cmd: string, args: readonly string[], cwd?: string, env?: NodeJS.ProcessEnv): Promise<Timed> {
  const useTime = hasGnuTime();
  const timeOut = join(tmpdir(), `bri-bench-par2-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const argv = useTime ? [GNU_TIME_PATH, '-f', '%e %U %S %M', '-o', timeOut, cmd, ...args] : [cmd, ...args];
  const start = process.hrtime.bigint();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  let cpuMs: number | null = null;
  let rssKb: number | null = null;
  if (useTime) {
    const lines = (await readFile(timeOut, 'utf8').catch(() => '')).trim().split('\n');
    const m = /([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s*$/.exec(lines[lines.length - 1] ?? '');
    if (m) {
      cpuMs = (Number(m[2]) + Number(m[3])) * 1000;
      rssKb = Number(m[4]);
    }
    await rm(timeOut, { force: true });
  }
  return { wallMs, cpuMs, rssKb, code, stdout, stderr };
}

async function ours(args: string[]): Promise<{ run: Timed; r: RunnerResult }> {
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f !== '');
  const run = await timed(process.execPath, [...flags, '--import', import.meta.resolve('tsx'), RUNNER, ...args]);
  const line = run.stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (run.code !== 0 || line === undefined) throw new Error(`par2-runner ${args[0]} failed (${run.code}): ${run.stderr.trim().slice(-2000)}`);
  const r = JSON.parse(line.slice(RESULT_PREFIX.length)) as RunnerResult;
  // CPU of the operation itself (all threads, start-up excluded), as the child measured it;
  // peak RSS of the whole process from GNU time, else the child's own figure.
  return { run: { ...run, cpuMs: r.cpuMs, rssKb: run.rssKb ?? r.maxRssKb ?? null }, r };
}

/**
 * par2cmdline's OpenMP threads spin while they wait by default; on a machine
 * with other work (a shared CI box), that turns a 1 s job into 20 s and
 * burns a core. Passive waiting costs it nothing measurable on an idle
 * machine, so the comparison uses it; BENCH_PAR2_ACTIVE=1 keeps the default.
 */
const PAR2_ENV: NodeJS.ProcessEnv =
  process.env.BENCH_PAR2_ACTIVE === '1' ? process.env : { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' };

async function theirs(args: string[], cwd: string): Promise<Timed> {
  const run = await timed('par2', args, cwd, PAR2_ENV);
  // par2: 0 = success. Anything else is a failed benchmark.
  if (run.code !== 0) throw new Error(`par2 ${args.join(' ')} exited ${run.code}: ${run.stderr.trim().split('\n').slice(-5).join('\n')}`);
  return run;
}

/** Runs the benchmark and prints a table; returns the rows. Throws when par2 is missing. */
export async function runPar2Bench(options: Par2BenchOptions = {}): Promise<Par2BenchRow[]> {
  const argv = options.argv ?? [];
  const log = options.log ?? ((line: string) => console.log(line));
  const sizesFlag = flag(argv, 'sizes');
  const sizesMB = sizesFlag !== undefined ? sizesFlag.split(',').map(Number) : options.sizesMB ?? (options.quick ? [20] : [50, 200]);
  const damageFraction = Number(flag(argv, 'damage') ?? options.damageFraction ?? 0.05);
  const runs = Math.max(1, Math.floor(Number(flag(argv, 'runs') ?? options.runs ?? 1)));
  if (!hasPar2Binary()) throw new Error('par2 (par2cmdline) is not installed: apt-get install par2');

  const root = await mkdtemp(join(process.env.BENCH_TMP ?? tmpdir(), 'bri-bench-par2-'));
  const rows: Par2BenchRow[] = [];
  const baseline = await ours(['baseline']);
  try {
    for (const sizeMB of sizesMB) {
      const bytes = Math.round(sizeMB * 1e6);
      const oursDir = join(root, `${sizeMB}MB-ours`);
      const theirsDir = join(root, `${sizeMB}MB-theirs`);
      await mkdir(oursDir);
      await mkdir(theirsDir);
      const data = join(oursDir, 'data.bin');
      const original = await generateFile(data, bytes, sizeMB * 1000 + 1);
      await copyFile(data, join(theirsDir, 'data.bin'));
      const row = (op: Par2BenchRow['op'], o: { run: Timed; r: RunnerResult }, t: Timed): Par2BenchRow => ({
        sizeMB,
        op,
        oursMs: o.r.opMs,
        oursProcessMs: o.run.wallMs,
        oursCpuMs: o.run.cpuMs,
        oursRssKb: o.run.rssKb,
        theirsMs: t.wallMs,
        theirsCpuMs: t.cpuMs,
        theirsRssKb: t.rssKb,
      });
      // Each measurement `runs` times, ours and theirs alternating, keeping the median run of each.
      const measure = async (
        op: Par2BenchRow['op'],
        runOurs: () => Promise<{ run: Timed; r: RunnerResult }>,
        runTheirs: () => Promise<Timed>,
      ): Promise<{ o: { run: Timed; r: RunnerResult }; t: Timed }> => {
        const os: { run: Timed; r: RunnerResult }[] = [];
        const ts: Timed[] = [];
        for (let k = 0; k < runs; k++) {
          os.push(await runOurs());
          ts.push(await runTheirs());
        }
        const o = medianBy(os, (x) => x.r.opMs);
        const t = medianBy(ts, (x) => x.wallMs);
        rows.push(row(op, o, t));
        return { o, t };
      };

      const { o: oc } = await measure(
        'create',
        () => ours(['create', data, join(oursDir, 'data.bin.par2'), '0.1']),
        async () => {
          await removePar2Files(theirsDir);
          return theirs(['create', '-q', '-q', '-r10', '-n1', 'data.bin.par2', 'data.bin'], theirsDir);
        },
      );

      await measure(
        'verify',
        async () => {
          const v = await ours(['verify', join(oursDir, 'data.bin.par2'), data]);
          if (v.r.result.intact !== true) throw new Error('our verify did not find the intact file intact');
          return v;
        },
        () => theirs(['verify', '-q', '-q', 'data.bin.par2'], theirsDir),
      );

      // Repair: the same damaged bytes on both sides; par2 repairs in place, so each run starts from a fresh copy.
      const damaged = await damage(data, bytes, damageFraction);
      const repaired = join(oursDir, 'repaired.bin');
      await measure(
        'repair',
        () => ours(['repair', join(oursDir, 'data.bin.par2'), data, repaired]),
        async () => {
          await copyFile(data, join(theirsDir, 'data.bin'));
          await rm(join(theirsDir, 'data.bin.1'), { force: true });
          return theirs(['repair', '-q', '-q', 'data.bin.par2'], theirsDir);
        },
      );
      if ((await md5File(repaired)) !== original) throw new Error('our repair did not reproduce the original');
      if ((await md5File(join(theirsDir, 'data.bin'))) !== original) throw new Error('par2 repair did not reproduce the original');
      log(`par2 ${sizeMB} MB: ${damaged} slices damaged for repair; our set ${String(oc.r.result.blockSize)}-byte slices, ` +
        `par2 files: ${(await readdir(theirsDir)).filter((f) => f.endsWith('.par2')).join(', ')}`);
      await rm(oursDir, { recursive: true, force: true });
      await rm(theirsDir, { recursive: true, force: true });
    }
  } finally {
    if (process.env.BENCH_KEEP !== '1') await rm(root, { recursive: true, force: true });
  }

  log(
    formatTable(
      ['par2', 'time ours', '(process)', 'par2cmdline', 'ours/theirs', 'CPU ours', 'par2cmdline', 'ours/theirs', 'peak RSS ours', 'par2cmdline', 'ours/theirs'],
      rows.map((r) => [
        `${r.op} ${r.sizeMB} MB`,
        fmtMs(r.oursMs),
        fmtMs(r.oursProcessMs),
        fmtMs(r.theirsMs),
        fmtRatio(r.oursMs, r.theirsMs),
        fmtMs(r.oursCpuMs),
        fmtMs(r.theirsCpuMs),
        fmtRatio(r.oursCpuMs, r.theirsCpuMs),
        fmtRss(r.oursRssKb),
        fmtRss(r.theirsRssKb),
        fmtRatio(r.oursRssKb, r.theirsRssKb),
      ]),
    ),
  );
  log('time ours: the operation inside our child process; (process): that child from spawn to exit (Node + tsx start-up included).');
  log(`peak RSS ours includes Node + tsx at rest: ${fmtRss(baseline.run.rssKb)} for a child that loads the PAR2 code and does nothing.`);
  log('CPU: user + system time, all threads (ours: the operation, measured in the child; par2: its whole process, GNU time).');
  log(`par2cmdline ran with OMP_WAIT_POLICY=${PAR2_ENV.OMP_WAIT_POLICY ?? '(default)'}. Ratios are ours/theirs: below 1, ours is faster or smaller.`);
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runPar2Bench({ argv: process.argv.slice(2) }).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
