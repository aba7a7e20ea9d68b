/**
 * db.archive's calls as a plain-JavaScript caller may make them, checked where they enter: a missing or
 * wrong-typed argument is USAGE naming the call and the argument (a rejection for a call that returns a
 * promise), never a TypeError from deep inside (`id.includes is not a function`), and an argument given to a
 * call that takes none is refused: `cleanupWal({ dryRun: true })` removed WAL segments for real.
 */
import { BriError, ErrorCodes, withCheckedArguments, withTypedIoErrors, type ArgumentRule } from '../errors.js';
import { ARCHIVE_OPTION_KEYS, RESTORE_OPTION_KEYS } from './api-options.js';
import { withHarmlessOptions } from './jobs/caller-callbacks.js';

/** Calls that take no argument: those returning a promise reject, the others throw (they answer at once). */
const NO_ARGUMENTS_ASYNC = ['cleanupWal', 'shippingReport', 'flushShipping', 'stopShipping', 'stopTriggers', 'idle', 'close'];
const NO_ARGUMENTS_SYNC = ['shippingStatus', 'metrics'];

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return v === '' ? 'an empty string' : typeof v;
}

/** `name` of `proto` wrapped so that `refusal(args)`, when it is an error, is thrown (sync) or rejected with instead. */
function refusing(proto: object, name: string, sync: boolean, refusal: (args: unknown[]) => BriError | null): void {
  const target = proto as Record<string, unknown>;
  const original = target[name];
  if (typeof original !== 'function') throw new Error(`db.archive.${name} is not a method`);
  target[name] = function (this: unknown, ...args: unknown[]): unknown {
    const err = refusal(args);
    if (err && sync) throw err;
    if (err) return Promise.reject(err);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
}

function noArguments(call: string): (args: unknown[]) => BriError | null {
  return (args) => {
    const at = args.findIndex((a) => a !== undefined);
    if (at < 0) return null;
    return new BriError(ErrorCodes.USAGE, `${call} takes no argument, got ${kindOf(args[at])} as argument ${at + 1}`, {
      hint: `Call ${call}() as the README shows: it has no options (and does nothing differently for one).`,
      details: { call, argument: at + 1 },
    });
  };
}

/** ArchiveApi's public calls checked (after their failed system calls are made IO_ERRORs, which they wrap). */
export function checkArchiveApiCalls(proto: object): void {
  // Every public operation answers a failed system call as a typed IO_ERROR with a hint (a full disk, a permission, a missing folder).
  withTypedIoErrors(proto, ['create', 'cleanupWal', 'prune', 'shippingReport'], 'archive');
  withHarmlessOptions(proto, { verify: 1, verifyAll: 0, download: 2, upload: 0, thaw: 0 }, ['onProgress', 'onVerified', 'onProblem', 'onUpload', 'onStatus'], 'db.archive');
  const rules: Record<string, readonly ArgumentRule[]> = {
    create: ['options?'], prune: ['options?'], rekey: ['options'], history: ['key', 'options?'], read: ['key', 'options'],
    upload: ['options?'], list: ['options?'], scan: ['options?'], get: ['id', 'options?'], stats: ['options?'], delete: ['id', 'options?'],
    download: ['id', 'key', 'options?'], verify: ['id', 'options?'], verifyAll: ['options?'], repair: ['id', 'options?'], thaw: ['options'], inspect: ['id'],
    copies: ['id'], isStoredEverywhere: ['id'], notStoredEverywhere: ['id'],
  };
  // read and scan take the options of db.restore.read and of list.
  withCheckedArguments(proto, rules, 'db.archive', { ...ARCHIVE_OPTION_KEYS, read: RESTORE_OPTION_KEYS.read!, scan: ARCHIVE_OPTION_KEYS.list! });
  for (const name of NO_ARGUMENTS_ASYNC) refusing(proto, name, false, noArguments(`db.archive.${name}`));
  for (const name of NO_ARGUMENTS_SYNC) refusing(proto, name, true, noArguments(`db.archive.${name}`));
  // fileFor answers at once (a path): a name that is no string is thrown, as USAGE naming it, not a TypeError.
  refusing(proto, 'fileFor', true, ([id]) =>
    typeof id === 'string' && id !== ''
      ? null
      : new BriError(ErrorCodes.USAGE, `db.archive.fileFor: argument 1 must be a non-empty string, got ${kindOf(id)}`, {
          hint: 'Call db.archive.fileFor(id) with an archive id or an archive file name, as the README shows.',
          details: { call: 'db.archive.fileFor', argument: 1 },
        }),
  );
}
