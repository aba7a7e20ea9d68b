/**
 * What tells a live process from an earlier one that had the same pid. A lock names its owner by
 * pid, and pids come back: after a reboot, and in a container restarted after a crash, where the
 * application is often pid 1 or 7 again, under the same host name. Linux gives two facts that do
 * not come back: the kernel's boot id, and a process's start time (clock ticks since boot).
 * Elsewhere both are unknown, and only the pid is checked.
 */
import * as fs from 'node:fs';

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

/** The names of the scratch files this process made (a name derived from one, e.g. its `.tmp`, contains it). */
const madeHere = new Set<string>();

/** Records that this process makes a scratch file named `name` (its base name). */
export function noteMadeHere(name: string): void {
  madeHere.add(name);
}

/** Forgets a scratch file this process made and removed. */
export function forgetMadeHere(name: string): void {
  madeHere.delete(name);
}

function isMadeHere(name: string): boolean {
  if (madeHere.has(name)) return true;
  for (const made of madeHere) if (name.includes(made)) return true;
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
