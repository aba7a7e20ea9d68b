/**
 * Runs a foreign tool or one of our own node/tsx child scripts and measures its
 * wall time and peak RSS.
 *
 * Peak RSS comes from GNU time (`/usr/bin/time -f '%e %M'`) when it is present.
 * Without it, our own children report `process.resourceUsage().maxRSS` on stdout
 * (see child.ts), and a foreign tool's RSS is unknown (null, printed "n/a").
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULT_PREFIX } from './child.js';

export const GNU_TIME_PATH = '/usr/bin/time';

let gnuTimeCache: boolean | undefined;

/** Whether GNU time is usable here (it must accept `-f '%e %M' -o FILE`). */
export function hasGnuTime(): boolean {
  if (gnuTimeCache !== undefined) return gnuTimeCache;
  gnuTimeCache = false;
  if (process.env.BENCH_NO_GNU_TIME === '1') return gnuTimeCache;
  if (!fs.existsSync(GNU_TIME_PATH)) return gnuTimeCache;
  const out = path.join(os.tmpdir(), `bri-bench-time-probe-${process.pid}`);
  try {
    const r = spawnSync(GNU_TIME_PATH, ['-f', '%e %M', '-o', out, 'true'], { stdio: 'ignore', timeout: 5000 });
    if (r.status === 0 && /^\d+(\.\d+)?\s+\d+\s*$/.test(fs.readFileSync(out, 'utf8'))) gnuTimeCache = true;
  } catch {
    // not GNU time, or not runnable: fall back
  } finally {
    fs.rmSync(out, { force: true });
  }
  return gnuTimeCache;
}

export interface RunResult {
  /** Wall time from spawn to exit, measured here (includes process start-up). */
  wallMs: number;
  /** Peak resident set size in KiB, or null when unknown. */
  peakRssKb: number | null;
  /** Where peakRssKb comes from. */
  rssSource: 'gnu-time' | 'child-maxRSS' | 'n/a';
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Capture stdout (default true). When false, stdout goes to /dev/null. */
  captureStdout?: boolean;
  /** Kill the child after this many ms (default 30 minutes). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;

/** Runs `cmd args` (no shell) and measures it; GNU time wraps it when available. */
export async function runMeasured(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const useTime = hasGnuTime();
  const timeOut = path.join(os.tmpdir(), `bri-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const argv = useTime ? [GNU_TIME_PATH, '-f', '%e %M', '-o', timeOut, cmd, ...args] : [cmd, ...args];
  const capture = opts.captureStdout ?? true;
  const start = process.hrtime.bigint();
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', capture ? 'pipe' : 'ignore', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  let peakRssKb: number | null = null;
  if (useTime) {
    try {
      const text = fs.readFileSync(timeOut, 'utf8').trim().split('\n');
      // On a non-zero exit GNU time writes "Command exited with non-zero status N" first.
      const m = /(\d+(?:\.\d+)?)\s+(\d+)\s*$/.exec(text[text.length - 1] ?? '');
      if (m) peakRssKb = Number(m[2]);
    } catch {
      // time did not write its file (the command could not start)
    } finally {
      fs.rmSync(timeOut, { force: true });
    }
  }
  return {
    wallMs,
    peakRssKb,
    rssSource: peakRssKb !== null ? 'gnu-time' : 'n/a',
    exitCode: result.code,
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

/** The result a child script reports (see child.ts), plus how the parent measured it. */
export interface ChildRun<T> extends RunResult {
  result: T;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const COMPILED_ROOT = path.join(REPO_ROOT, '.bench', 'dist');
let compiledOnce: boolean | undefined;

/**
 * Our children run as users run the package: compiled to JavaScript (tsconfig.bench.json, into
 * .bench/dist, once per bench process). Under tsx they carried its loader (about 48 MiB of RSS)
 * and compiled our modules during the timed calls that load them lazily. BENCH_TSX=1 runs them
 * under tsx, from the sources, as before.
 */
function compiled(): boolean {
  if (compiledOnce !== undefined) return compiledOnce;
  compiledOnce = false;
  if (process.env.BENCH_TSX === '1') return compiledOnce;
  const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  fs.rmSync(COMPILED_ROOT, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(REPO_ROOT, 'tsconfig.bench.json')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`compiling the bench children failed (BENCH_TSX=1 runs them under tsx):\n${r.stdout}${r.stderr}`);
  compiledOnce = true;
  return compiledOnce;
}

/** How node runs one of our TypeScript child scripts: its compiled file, or the source under tsx. */
export function childCommand(script: string): string[] {
  if (!compiled()) return ['--import', import.meta.resolve('tsx'), script];
  return [path.join(COMPILED_ROOT, path.relative(REPO_ROOT, script)).replace(/\.ts$/, '.js')];
}

export interface ChildOptions extends RunOptions {
  /** Extra node flags (e.g. --cpu-prof). BENCH_NODE_FLAGS is added too. */
  nodeFlags?: string[];
}

/**
 * Runs one of our TypeScript child scripts (compiled, see childCommand) and returns what it
 * reported. Peak RSS: GNU time when present, else the child's own maxRSS.
 * Throws when the child fails or reports nothing.
 */
export async function runNodeChild<T extends { maxRssKb?: number }>(
  script: string,
  args: readonly string[],
  opts: ChildOptions = {},
): Promise<ChildRun<T>> {
  const envFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter((s) => s !== '');
  const nodeArgs = [...envFlags, ...(opts.nodeFlags ?? []), ...childCommand(script), ...args];
  const run = await runMeasured(process.execPath, nodeArgs, { ...opts, captureStdout: true });
  const line = run.stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(RESULT_PREFIX));
  if (run.exitCode !== 0 || line === undefined) {
    const tail = (run.stderr.trim() || run.stdout.trim()).split('\n').slice(-15).join('\n');
    throw new Error(`child ${path.basename(script)} exited with code ${run.exitCode}${line === undefined ? ' without a result' : ''}:\n${tail}`);
  }
  const result = JSON.parse(line.slice(RESULT_PREFIX.length)) as T;
  if (run.peakRssKb === null && typeof result.maxRssKb === 'number') {
    return { ...run, peakRssKb: result.maxRssKb, rssSource: 'child-maxRSS', result };
  }
  return { ...run, result };
}

/** Absolute path of a file next to the calling module. */
export function siblingPath(metaUrl: string, ...parts: string[]): string {
  return path.join(path.dirname(fileURLToPath(metaUrl)), ...parts);
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs a measurement `times` times and keeps the run with the median wall time. */
export async function medianOf(times: number, fn: () => Promise<RunResult>): Promise<RunResult & { runsMs: number[] }> {
  const runs: RunResult[] = [];
  for (let i = 0; i < times; i++) runs.push(await fn());
  const sorted = [...runs].sort((a, b) => a.wallMs - b.wallMs);
  const pick = sorted[(sorted.length - 1) >> 1]!;
  return { ...pick, runsMs: runs.map((r) => r.wallMs) };
}

/** The first line a tool prints about its version, or 'unknown'. */
export function toolVersion(cmd: string, args: string[]): string {
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** What a benchmark's JSON records about the machine it ran on. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  totalMemMb: number;
  node: string;
  platform: string;
  gnuTime: boolean;
  tmpDir: string;
}

export function machineInfo(tmpDir: string, gnuTime: boolean): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    totalMemMb: Math.round(os.totalmem() / 1024 / 1024),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    gnuTime,
    tmpDir,
  };
}

/** A new directory for one benchmark's data under $BENCH_TMP (default the OS temp dir). */
export function benchRoot(name: string): string {
  const tmpBase = process.env.BENCH_TMP ?? os.tmpdir();
  fs.mkdirSync(tmpBase, { recursive: true });
  return fs.mkdtempSync(path.join(tmpBase, `bri-bench-${name}-`));
}
