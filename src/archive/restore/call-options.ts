/**
 * A restore call as the API takes it: its options (checked before anything is read), and what a failed call
 * tells the caller's onError hook, whatever it failed at (planning, the target, the key, the build).
 */
import { assertKnownOptions, BriError, ErrorCodes } from '../../errors.js';
import type { ProgressListener } from '../package/progress.js';
import { assertInstanceId } from '../package/ids.js';
import type { AgeIdentity } from '../crypto/age-keys.js';
import type { SourceProblem } from '../copies/fetch.js';
import { boundedHooks } from '../jobs/function-hook.js';
import type { RestoreHooks } from './execute.js';
import type { RestorePlan } from './plan.js';

export interface RestoreCallOptions {
  /** Where to restore (default: the data directory). */
  targetDir?: string;
  verify?: boolean;
  cleanExisting?: boolean;
  force?: boolean;
  dryRun?: boolean;
  hooks?: RestoreHooks;
  onProgress?: ProgressListener;
  /** Which instance's archives (default: the data directory's, else the newest archive's). */
  instanceId?: string;
  /** Only this source (a name or a provider); default: every source, in `restoreSources` order. */
  source?: string;
  /** Told each time a source is passed over (missing copy, down, damaged beyond repair). */
  onSourceProblem?: (p: SourceProblem) => void;
  /** A damaged or missing shipment in the middle: 'stop' at the last good line before it (default), or 'fail' the restore. */
  onBrokenShipment?: 'stop' | 'fail';
  /** What opens archives encrypted with age: an identity file's path, or identities already read (default: the configuration's identityFile, else $BRI_AGE_IDENTITY). */
  identity?: string | AgeIdentity;
}

/** The hooks a restore call takes, typed against RestoreHooks (the compiler says when the two part). */
const RESTORE_HOOKS: { [K in keyof Required<RestoreHooks>]: true } = { beforeRestore: true, afterSnapshotRestore: true, afterWalSegmentRestore: true, afterRestore: true, onError: true };

const RESTORE_CALL_KEYS = ['targetDir', 'verify', 'cleanExisting', 'force', 'dryRun', 'hooks', 'onProgress', 'instanceId', 'source', 'onSourceProblem', 'onBrokenShipment', 'identity'];
const CLONE_KEYS = [...RESTORE_CALL_KEYS, 'archiveId', 'timestamp', 'newInstanceId'];

/**
 * A restore call's options: an unknown key (a misspelt dryRun) is refused before anything is read, and so
 * is a targetDir that names nothing: '' (an unset variable) would resolve to the working directory and replace it.
 */
export function assertRestoreCallOptions(opts: unknown, clone: boolean, call: string): void {
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new BriError(ErrorCodes.USAGE, `${call}: the options must be an object, not ${opts === null ? 'null' : Array.isArray(opts) ? 'an array' : typeof opts}`, {
      hint: `Pass an object (${clone ? '{ targetDir }' : '{} for the defaults'}), or leave the options out.`,
    });
  }
  assertKnownOptions(opts, clone ? CLONE_KEYS : RESTORE_CALL_KEYS, call);
  const target = (opts as { targetDir?: unknown }).targetDir;
  if ((target !== undefined || clone) && (typeof target !== 'string' || target === '')) {
    const what = target === '' ? 'empty' : target === undefined ? 'missing' : `${target === null ? 'null' : typeof target}, not a path`;
    throw new BriError(ErrorCodes.USAGE, `${call}: targetDir is ${what}`, {
      hint: target === '' ? 'Give targetDir as a directory path, or leave it out for the data directory (an unset variable gives an empty one; it is not the working directory).' : clone ? 'Give targetDir as the path of the directory the copy is made in.' : 'Give targetDir as a directory path, or leave it out for the data directory.',
      details: { option: 'targetDir' },
    });
  }
  const id = (opts as { instanceId?: unknown }).instanceId;
  if (id !== undefined) assertInstanceId(id as string);
  assertCallHooks((opts as { hooks?: unknown }).hooks, call);
}

function hooksError(call: string, option: string, message: string, hint: string): BriError {
  return new BriError(ErrorCodes.USAGE, `${call}: ${message}`, { hint, details: { option } });
}

/**
 * A call's own hooks: a misspelt name (afterRestor), an archive hook, a value that is no function (a number, a
 * command line) were taken and never run, while the same in archive.restoreHooks is CONFIG_INVALID. Refused
 * here naming the key; a command, or a function with its own timeoutMs, is the configuration's form.
 */
function assertCallHooks(hooks: unknown, call: string): void {
  if (hooks === undefined) return;
  const names = Object.keys(RESTORE_HOOKS).join(', ');
  if (typeof hooks !== 'object' || hooks === null || Array.isArray(hooks)) {
    const what = hooks === null ? 'null' : Array.isArray(hooks) ? 'an array' : typeof hooks;
    throw hooksError(call, 'hooks', `hooks is ${what}, not an object of hook functions`, `Give hooks as { afterRestore: fn, ... } ({} for none), or leave it out for the configuration's restoreHooks.`);
  }
  for (const [name, fn] of Object.entries(hooks)) {
    if (!Object.hasOwn(RESTORE_HOOKS, name)) {
      throw hooksError(call, `hooks.${name}`, `hooks.${name} is not a restore hook`, `A restore's hooks are ${names} (beforeArchive, afterArchive and onError of archiving go in archive.hooks).`);
    }
    if (fn !== undefined && typeof fn !== 'function') {
      const shown = typeof fn === 'string' ? `the string '${fn.slice(0, 40)}'` : fn === null ? 'null' : Array.isArray(fn) ? 'an array' : typeof fn === 'object' ? 'an object' : String(fn);
      throw hooksError(call, `hooks.${name}`, `hooks.${name} is ${shown}, not a function`, `Give ${name} as a function; a command (or a function with a timeoutMs of its own) is set in the configuration's restoreHooks.`);
    }
  }
}

/**
 * A restore call that failed, told to its onError hook (not for a dry run: dry runs run no hooks): with the
 * plan when the failure came after it, else the target alone (no archive found, a key missing, a target
 * refused). What the hook does wrong is not the restore's failure; the error is thrown again by the caller.
 */
export async function tellRestoreFailure(err: unknown, hooks: RestoreHooks | undefined, opts: { dryRun?: boolean }, targetDir: string, plan: RestorePlan | undefined): Promise<void> {
  if (opts.dryRun === true || !hooks?.onError) return;
  try {
    await boundedHooks(hooks)!.onError!(err, { ...plan, targetDir });
  } catch {
    // The restore's own error is the one to report; the hook's own failure was said as a warning (saidIfOnError).
  }
}
