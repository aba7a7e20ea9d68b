/**
 * Hooks given as commands (a JSON config cannot hold functions): the command
 * runs with the event as JSON on its stdin and the main facts in BRI_*
 * environment variables. A command that exits non-zero, is killed, or runs
 * past its timeout fails the hook the way a throwing function does: a
 * `beforeArchive` / `beforeRestore` that fails stops the operation.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { BriError, ErrorCodes } from '../../errors.js';
import { DEFAULT_HOOK_TIMEOUT_MS, markBounded, saidIfOnError } from './function-hook.js';
import { killProcessGroup, startInTrackedGroup } from './hook-process-groups.js';

/** A hook command: a shell command line, or an argv run without a shell. */
export interface CommandHookSpec {
  command: string | string[];
  /** Killed (SIGTERM, then SIGKILL 5 s later) and failed past this (default 5 minutes). */
  timeoutMs?: number;
  /** Working directory (default: the process's; the CLI uses the config file's directory). */
  cwd?: string;
}

/** How much of the command's stderr a failure quotes. */
const STDERR_TAIL = 2000;

/** The facts a hook command gets as BRI_* variables (the whole event is on stdin). */
function envFor(hook: string, event: unknown): Record<string, string> {
  const env: Record<string, string> = { BRI_HOOK: hook };
  const e = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  const put = (name: string, v: unknown) => {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') env[name] = String(v);
  };
  put('BRI_REASON', e.reason);
  const archiveOf = (x: unknown) => (x as { archive?: { manifest?: { archiveId?: unknown } } } | undefined)?.archive?.manifest?.archiveId;
  put('BRI_ARCHIVE_ID', e.archiveId ?? archiveOf(e) ?? archiveOf(e.plan));
  put('BRI_ARCHIVE_FILE', e.file);
  put('BRI_TARGET_DIR', e.targetDir ?? (e.plan as { targetDir?: unknown } | undefined)?.targetDir);
  if (e.error instanceof Error) {
    put('BRI_ERROR_MESSAGE', e.error.message);
    put('BRI_ERROR_CODE', (e.error as { code?: unknown }).code);
  }
  return env;
}

/** JSON of an event, errors included (JSON.stringify drops their fields), bigints as strings. */
function eventJson(hook: string, event: unknown): string {
  return JSON.stringify({ hook, event }, (_k, v: unknown) => {
    if (v instanceof Error) return { name: v.name, message: v.message, ...((v as { code?: unknown }).code !== undefined ? { code: (v as { code?: unknown }).code } : {}) };
    if (typeof v === 'bigint') return v.toString();
    return v;
  });
}

function hookError(hook: string, spec: CommandHookSpec, why: string, stderr: string, hint = 'Fix the hook command, or remove it from the configuration; run it by hand with the same stdin to see what it does.'): BriError {
  const tail = stderr.length > STDERR_TAIL ? `...${stderr.slice(-STDERR_TAIL)}` : stderr;
  return new BriError(ErrorCodes.HOOK_FAILED, `hook ${hook} (${describeCommand(spec)}) ${why}${tail.trim() ? `: ${tail.trim()}` : ''}`, { hint, details: { hook } });
}

/** Why the command did not start: a missing working directory gives the same ENOENT as a missing program, and is said as itself. */
function notStarted(hook: string, spec: CommandHookSpec, err: NodeJS.ErrnoException): BriError {
  const cwd = spec.cwd ?? process.cwd();
  if (err.code === 'ENOENT' && !fs.existsSync(cwd)) {
    return hookError(hook, spec, `could not start: its working directory ${cwd} does not exist`, '', `Create ${cwd}, or set the hook's cwd to a directory that exists (with --config, a relative cwd is taken from the config file's directory).`);
  }
  return hookError(hook, spec, `could not start: ${err.code ?? err.message}`, '');
}

/** `NAME=value` words the shell reads before the program, values quoted or not: they often hold a token. */
const LEADING_ASSIGNMENTS = /^\s*(?:[A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|"(?:\\.|[^"\\])*"|\\.|[^\s'"\\])*\s+)*/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/**
 * The command as shown in errors: its program only. The rest may hold tokens, and so may the `NAME=value`
 * words before it (`SLACK_TOKEN=xoxb-... ./notify.sh`): those are skipped, and a word that still looks like
 * one (its quote never closed) is not shown.
 */
export function describeCommand(spec: CommandHookSpec): string {
  const program = Array.isArray(spec.command) ? spec.command[0] : spec.command.replace(LEADING_ASSIGNMENTS, '').split(/\s+/)[0];
  return program && !ASSIGNMENT.test(program) ? program : 'a command whose program is not shown';
}

/** Runs one hook command for an event; resolves when it exits 0. */
export function runCommandHook(hook: string, spec: CommandHookSpec, event: unknown): Promise<void> {
  const argv = Array.isArray(spec.command) ? spec.command : ['/bin/sh', '-c', spec.command];
  const timeoutMs = spec.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  return new Promise<void>((resolve, reject) => {
    // Its own process group, so that a timeout kills what the command started too (sh -c 'sleep ...');
    // Ctrl-C does not reach that group, so startInTrackedGroup kills it when this process is stopped.
    const { child, release } = startInTrackedGroup(() =>
      spawn(argv[0]!, argv.slice(1), {
        cwd: spec.cwd ?? process.cwd(),
        env: { ...process.env, ...envFor(hook, event) },
        stdio: ['pipe', 'ignore', 'pipe'],
        detached: true,
      }),
    );
    let stderr = '';
    let timedOut = false;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      stderr = (stderr + d).slice(-2 * STDERR_TAIL);
    });
    // A command that does not read its stdin closes the pipe: that is not its failure.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(eventJson(hook, event));
    const killGroup = (signal: NodeJS.Signals) => killProcessGroup(child.pid!, signal);
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      killer = setTimeout(() => killGroup('SIGKILL'), 5000);
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      release();
      reject(notStarted(hook, spec, err as NodeJS.ErrnoException));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      release();
      if (killer) clearTimeout(killer);
      let settled = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        // Something the command left running in the background must not keep this process alive.
        child.stderr!.destroy();
        child.unref();
        if (timedOut) reject(hookError(hook, spec, `ran past its ${timeoutMs} ms timeout and was killed`, stderr));
        else if (code === 0) resolve();
        else reject(hookError(hook, spec, signal ? `was killed by ${signal}` : `exited with ${code}`, stderr));
      };
      // The rest of stderr, unless something the command left running in the background holds the pipe.
      if (child.stderr!.readableEnded) settle();
      else {
        const grace = setTimeout(settle, 200);
        child.stderr!.once('close', () => {
          clearTimeout(grace);
          settle();
        });
      }
    });
  });
}

/** A hook function that runs the command (the shape function hooks have; onError's arguments become `{ error, plan }`). */
export function commandHook(hook: string, spec: CommandHookSpec): (first?: unknown, second?: unknown) => Promise<void> {
  // Bounded by its own timeout (the command is killed past it): not given the functions' one on top.
  return markBounded((first?: unknown, second?: unknown) => saidIfOnError(hook, () => runCommandHook(hook, spec, hook === 'onError' ? { error: first, ...(second !== undefined ? { plan: second } : {}) } : first)));
}
