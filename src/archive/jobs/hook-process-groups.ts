/**
 * The process groups of the hook commands running now. A hook runs in its own
 * group (so that a timeout kills what it started), which a terminal's Ctrl-C
 * or a `kill` of this process does not reach: the hook outlived the stopped
 * command, acted after the user stopped it and ran past its own timeout, whose
 * timer died with this process. While a hook runs, SIGINT, SIGTERM, SIGHUP and
 * the process's 'exit' kill every running hook's group; the listeners are
 * removed when the last hook ends.
 */
import type { ChildProcess } from 'node:child_process';

/** The signals a user or a service manager stops a command with. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** One per hook started: its group id once spawn() has returned. */
const runningHooks = new Set<{ pgid?: number }>();

/** Signals a whole process group; a group already gone is not an error. */
export function killProcessGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM, as a timeout does first: the hook may clean up, and the background jobs of `sh -c` ignore SIGINT. */
function killRunningGroups(): void {
  for (const { pgid } of runningHooks) if (pgid !== undefined) killProcessGroup(pgid, 'SIGTERM');
}

function onStopSignal(signal: NodeJS.Signals): void {
  killRunningGroups();
  // An embedding application's own listener decides what the signal does to this process.
  if (process.listenerCount(signal) > 1) return;
  // Alone, this listener must not keep the process alive: it dies by the signal as it would have without hooks.
  runningHooks.clear();
  removeListeners();
  process.kill(process.pid, signal);
}

function addListeners(): void {
  for (const s of STOP_SIGNALS) process.on(s, onStopSignal);
  process.on('exit', killRunningGroups);
}

function removeListeners(): void {
  for (const s of STOP_SIGNALS) process.off(s, onStopSignal);
  process.off('exit', killRunningGroups);
}

/**
 * Starts a hook command with `start` (which must spawn it detached: its own
 * process group) and kills that group if this process is stopped by a signal
 * or exits before the returned release is called. Release once the command
 * has exited; releasing twice is harmless. A throw from `start` is rethrown.
 */
export function startInTrackedGroup(start: () => ChildProcess): { child: ChildProcess; release: () => void } {
  const hook: { pgid?: number } = {};
  // Listening before the spawn: a signal that comes while spawn() runs (the command may already run) waits for
  // this synchronous code to end, and then finds the group; listening after it, the signal killed this process alone.
  if (runningHooks.size === 0) addListeners();
  runningHooks.add(hook);
  const release = () => {
    if (runningHooks.delete(hook) && runningHooks.size === 0) removeListeners();
  };
  try {
    const child = start();
    hook.pgid = child.pid;
    return { child, release };
  } catch (err) {
    release();
    throw err;
  }
}
