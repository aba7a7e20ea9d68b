/**
 * One run of a shell script of standard tools (dash, `set -e`), timed whole, with each command
 * that is written `T name cmd ...` measured on its own by GNU time (elapsed, user + system CPU,
 * peak RSS). Without GNU time, `T` runs the command as is and only the wall time is known.
 *
 * Names `group-tool` mark processes that run at the same time (the stages of one pipe): their
 * peak RSS adds up. The script's peak RSS is the largest group's (groups run one after another).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GNU_TIME_PATH, hasGnuTime, runMeasured } from './measure.js';

export interface ScriptProcess {
  ms: number;
  cpuMs: number;
  rssKb: number;
}

export interface ScriptRun {
  /** Wall time of the whole `sh -c`, from spawn to exit. */
  wallMs: number;
  exitCode: number | null;
  stderr: string;
  /** Per `T name` command (null without GNU time). */
  perProcess: Record<string, ScriptProcess>;
  /** User + system CPU of the `T` commands, added up (null without GNU time). */
  cpuMs: number | null;
  /** The largest group's peak RSS, the stages of a pipe added up (null without GNU time). */
  peakRssKb: number | null;
}

/** Runs `script` once under `sh -c` in `cwd`, with `env` added to the environment. */
export async function runTimedScript(script: string, opts: { cwd: string; env?: Record<string, string> }): Promise<ScriptRun> {
  const gnu = hasGnuTime();
  const prefix = path.join(os.tmpdir(), `bri-bench-script-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const T = gnu ? `T() { n=$1; shift; ${GNU_TIME_PATH} -f '%e %U %S %M' -o "$BENCH_R.$n" "$@"; }` : 'T() { shift; "$@"; }';
  const run = await runMeasured('sh', ['-c', `set -e\n${T}\n${script}`], { cwd: opts.cwd, env: { ...process.env, ...opts.env, BENCH_R: prefix }, captureStdout: false });
  const perProcess: Record<string, ScriptProcess> = {};
  const dir = path.dirname(prefix);
  const base = `${path.basename(prefix)}.`;
  for (const f of fs.readdirSync(dir)) {
    if (!f.startsWith(base)) continue;
    const file = path.join(dir, f);
    // On a non-zero exit GNU time writes "Command exited with non-zero status N" first: the figures are the last line.
    const m = /(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+)\s*$/.exec(fs.readFileSync(file, 'utf8').trim());
    if (m) perProcess[f.slice(base.length)] = { ms: Number(m[1]) * 1000, cpuMs: (Number(m[2]) + Number(m[3])) * 1000, rssKb: Number(m[4]) };
    fs.rmSync(file, { force: true });
  }
  const names = Object.keys(perProcess);
  if (names.length === 0) return { wallMs: run.wallMs, exitCode: run.exitCode, stderr: run.stderr, perProcess, cpuMs: null, peakRssKb: null };
  const groups = new Map<string, number>();
  let cpuMs = 0;
  for (const [name, p] of Object.entries(perProcess)) {
    const dash = name.indexOf('-');
    const group = dash >= 0 ? name.slice(0, dash) : name;
    groups.set(group, (groups.get(group) ?? 0) + p.rssKb);
    cpuMs += p.cpuMs;
  }
  return { wallMs: run.wallMs, exitCode: run.exitCode, stderr: run.stderr, perProcess, cpuMs, peakRssKb: Math.max(...groups.values()) };
}
