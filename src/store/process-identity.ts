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
