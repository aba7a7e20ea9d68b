/**
 * What tells a live process from an earlier one that had the same pid. A lock names its owner by
 * pid, and pids come back: after a reboot, and in a container restarted after a crash, where the
 * application is often pid 1 or 7 again, under the same host name. Linux gives two facts that do
 * not come back: the kernel's boot id, and a process's start time (clock ticks since boot).
 * Elsewhere both are unknown, and only the pid is checked.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

function readOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

let bootCache: string | null | undefined;

/** This boot of the kernel (Linux), or null. */
export function bootId(): string | null {
  bootCache ??= readOrNull('/proc/sys/kernel/random/boot_id')?.trim() || null;
  return bootCache;
}

/** When the process `pid` started, in clock ticks since boot (Linux), or null when unknown or gone. */
export function processStart(pid: number): string | null {
  const stat = readOrNull(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? null; // field 22, starttime
}

let ownStart: string | null | undefined;

/** This process's start time (see processStart), read once. */
export function ownProcessStart(): string | null {
  if (ownStart === undefined) ownStart = processStart(process.pid);
  return ownStart;
}

/** Whether no process has the pid `pid` now (EPERM: one does, of another user). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** This host, as a part of a file name (no dots: they separate the parts). */
export function hostTag(): string {
  return os.hostname().replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63) || 'host';
}

/**
 * The scratch files this process made, by base name (a name derived from one, e.g. its `.tmp`,
 * contains it), with their paths: one that is gone is forgotten after a while, so that a
 * long-running process does not keep every name it ever made.
 */
const madeHere = new Map<string, { file: string; at: number }>();
/** Past this many names, those whose file is gone are forgotten (a name is kept ten minutes at least: its file may not exist yet). */
const MADE_HERE_PRUNE_AT = 256;
const MADE_HERE_MIN_AGE_MS = 10 * 60_000;

/** Records that this process makes the scratch file `file`. */
export function noteMadeHere(file: string): void {
  if (madeHere.size >= MADE_HERE_PRUNE_AT) {
    const old = Date.now() - MADE_HERE_MIN_AGE_MS;
    for (const [name, made] of madeHere) if (made.at < old && !fs.existsSync(made.file)) madeHere.delete(name);
  }
  madeHere.set(path.basename(file), { file, at: Date.now() });
}

/** Forgets a scratch file this process made and removed. */
export function forgetMadeHere(file: string): void {
  madeHere.delete(path.basename(file));
}

/** How many scratch names this process keeps (for tests). */
export function madeHereCount(): number {
  return madeHere.size;
}

function isMadeHere(name: string): boolean {
  if (madeHere.has(name)) return true;
  for (const made of madeHere.keys()) if (name.includes(made)) return true;
  return false;
}

/**
 * Whether a file named `name`, whose name says the process `pid` of this host made it, last written
 * at `mtimeMs`, is a dead process's: that pid is gone, or it is this process's pid but this process
 * did not make it and it is older than this process (an earlier process had the pid: a restarted
 * container). This process's own files are known by name, not by their times: after the clock was
 * stepped back, a file made now can look older than the process.
 */
export function madeByDeadProcess(pid: number, mtimeMs: number, name: string): boolean {
  // A second of slack: file times and the process's start are read from different clocks' views.
  if (pid === process.pid) return !isMadeHere(name) && mtimeMs < performance.timeOrigin - 1000;
  return processGone(pid);
}

/**
 * Removes the files in `dir` that dead processes of this host left (`ownerOf` gives the pid of this
 * host's process that made a name, null for a name that is not such a file or is another host's).
 * Best effort: a directory that cannot be read, or a file that cannot be removed, is left for the next run.
 */
export async function sweepDeadFiles(dir: string, ownerOf: (name: string) => number | null): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    const pid = ownerOf(name);
    if (pid === null) continue;
    const file = path.join(dir, name);
    const st = await fsp.lstat(file).catch(() => null);
    if (st === null || !madeByDeadProcess(pid, st.mtimeMs, name)) continue;
    try {
      await fsp.rm(file, { force: true, recursive: true });
      removed.push(name);
    } catch {
      // another process removed it, or it cannot be: the next run tries again
    }
  }
  return removed;
}
