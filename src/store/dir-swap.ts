/**
 * Swapping a directory in (a restore): a journal beside the target records the
 * two renames, so that a crash between them is finished (or rolled back) by
 * the next restore or the next open of the store. The target ends up either the
 * old directory or the new one, never a mix, and never an empty one.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, errnoOf, ErrorCodes, ioHint, isBriError } from '../errors.js';
import { fsyncDir, pathExists, writeFileDurable } from './durable-fs.js';
import { acquireLockFile, LOCK_FILE, removeStaleLock, type DirLock } from './lock/dir-lock.js';

export interface SwapJournal {
  target: string;
  /** The new directory, built beside the target. */
  newDir: string;
  /** Where the old target goes (null when there was none). */
  oldDir: string | null;
  /** 'building': newDir is not complete; 'swapping': newDir is complete and validated. */
  phase: 'building' | 'swapping';
  /** Remove the old directory once the swap is done. */
  cleanExisting: boolean;
  /** Paths relative to the target that move from the old directory to the new one (its archives). */
  carryOver: string[];
  /**
   * Directories of the new one (relative to the target) whose entries then move into a carried-over path: files
   * written for the restored directory's archives (a new instance's seed) before the swap, in place only after it.
   * `from` lies in a top-level directory of its own, removed once its entries are moved.
   */
  moveIn?: Array<{ from: string; to: string }>;
}

export function journalPath(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.restore.json`);
}

/**
 * One restore at a time per target: a lock file beside it (the target may not exist yet), taken
 * before anything looks at the journal, so that a second restore (or an open of the store) never
 * "recovers" the build directory of a restore that is alive.
 */
export function acquireRestoreLock(target: string, purpose: string): Promise<DirLock> {
  return acquireLockFile(restoreLockPath(target), purpose, `restore target ${target}`);
}

function restoreLockPath(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.restore.lock`);
}

export function stamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace('.', '');
}

export async function writeJournal(j: SwapJournal): Promise<void> {
  await writeFileDurable(journalPath(j.target), JSON.stringify(j, null, 2));
}

export async function removeJournal(target: string): Promise<void> {
  await fsp.rm(journalPath(target), { force: true });
  await fsp.rm(journalPath(target) + '.tmp', { force: true });
  await fsyncDir(path.dirname(target));
}

/** The purpose restores write into the lock file: a dead owner's lock of this kind is theirs to clean. */
export const RESTORE_LOCK_PURPOSE = 'bri restore';

/** Removes a lock left in `dir` by a restore whose process died. */
async function removeStaleRestoreLock(dir: string): Promise<void> {
  await removeStaleLock(path.join(dir, LOCK_FILE), RESTORE_LOCK_PURPOSE);
}

/** recoverInterruptedRestore, saying what it did as the store's open says it (a BRI_RESTORE_RECOVERED process warning). */
export async function recoverInterruptedRestoreSaying(target: string): Promise<void> {
  const did = await recoverInterruptedRestore(target);
  if (did !== null) process.emitWarning(`opening ${target}: ${did}`, { code: 'BRI_RESTORE_RECOVERED' });
}

/**
 * Finishes or rolls back a restore that a crash interrupted. Returns what it did, or null.
 * A complete, validated new directory is never deleted once the swap has begun: whatever
 * stands at the target then (an empty directory a process created in the window) is moved aside.
 */
export async function recoverInterruptedRestore(target: string, opts: { locked?: boolean } = {}): Promise<string | null> {
  const file = journalPath(target);
  // Nothing to recover is the common case: no lock file is created beside every directory opened.
  if (!fs.existsSync(file) && !fs.existsSync(file + '.tmp')) {
    await refuseUnjournaledSwap(target, 'missing');
    if (await pathExists(target)) await removeStaleRestoreLock(target);
    // A restore lock whose process died (a kill) is removed by the next look at the target.
    if (!opts.locked) await removeStaleLock(restoreLockPath(target));
    return null;
  }
  const lock = opts.locked ? null : await acquireRestoreLock(target, 'recovering an interrupted restore');
  try {
    return await recoverUnderLock(target).catch((err: unknown) => Promise.reject(recoveryFailure(target, err)));
  } finally {
    await lock?.release();
  }
}

/**
 * A recovery that fails (the old directory cannot be removed: a mount point inside it) is retried by every open
 * until its cause is gone: said as a typed error naming the path and the journal, never as a raw errno error.
 */
function recoveryFailure(target: string, err: unknown): BriError {
  if (err instanceof BriError) return err;
  const io = ioHint(err);
  const retry = `The next open of the database or restore into ${target} tries again (the journal ${journalPath(target)} says where the interrupted restore stopped).`;
  return new BriError(errnoOf(err) ? ErrorCodes.IO_ERROR : ErrorCodes.RESTORE_ERROR, `finishing an interrupted restore into ${target} failed: ${(err as Error)?.message ?? String(err)}`, {
    hint: io ? `${io} ${retry}` : `Fix what the message says. ${retry}`,
    details: { target, journal: journalPath(target), ...(errnoOf(err) ? { errno: errnoOf(err) } : {}), ...(typeof (err as NodeJS.ErrnoException)?.path === 'string' ? { path: (err as NodeJS.ErrnoException).path } : {}) },
    cause: err,
  });
}

async function recoverUnderLock(target: string): Promise<string | null> {
  const file = journalPath(target);
  await fsp.rm(file + '.tmp', { force: true }); // a journal being rewritten when the crash came
  if (!fs.existsSync(file)) {
    await refuseUnjournaledSwap(target, 'missing');
    if (await pathExists(target)) await removeStaleRestoreLock(target);
    return null;
  }
  await refuseJournalOfAnother(target, file);
  let j: SwapJournal;
  try {
    j = JSON.parse(await fsp.readFile(file, 'utf8')) as SwapJournal;
  } catch {
    await refuseUnjournaledSwap(target, 'unreadable');
    // Nothing beside the target for it to act on; bri writes it whole (temp file, rename): kept aside for whoever damaged it.
    const kept = `${file}.unreadable-${stamp()}`;
    await fsp.rename(file, kept).then(() => fsyncDir(path.dirname(target)));
    return `moved an unreadable restore journal aside to ${kept}`;
  }
  await refuseForeignJournal(target, file, j);
  let did: string;
  if (j.phase === 'building') {
    await fsp.rm(j.newDir, { recursive: true, force: true });
    did = `rolled back an unfinished restore (removed ${j.newDir})`;
  } else if (await pathExists(j.newDir)) {
    if (await pathExists(target)) {
      // Either the first rename had not happened (the target is the old directory), or
      // something created the target in between: either way it goes aside, not away.
      const aside = j.oldDir && !(await pathExists(j.oldDir)) ? j.oldDir : `${target}.displaced-${stamp()}`;
      await fsp.rename(target, aside);
    }
    await fsp.rename(j.newDir, target);
    await fsyncDir(path.dirname(target));
    did = `finished an interrupted restore into ${target}`;
  } else {
    did = 'the interrupted restore had completed';
  }
  const left = j.phase === 'swapping' && (await pathExists(target)) ? await carryOver(j) : [];
  if (j.phase === 'swapping' && (await pathExists(target))) await moveIn(j);
  const notDropped = j.phase === 'swapping' ? await dropOldDir(j, left) : null;
  if (notDropped !== null) did += `; ${notDropped}`;
  if (left.length > 0) did += `; kept ${j.oldDir} (its ${left.join(', ')} exist in the restored directory too)`;
  for (const dir of [target, j.oldDir]) if (dir && (await pathExists(dir))) await removeStaleRestoreLock(dir);
  await removeJournal(target);
  return did;
}

/**
 * A restore between its two renames leaves `<target>.pre-restore-S` (the old data) and `<target>.restore-S` (the restored
 * data, complete: the first rename comes after its validation); only its journal says what is left to do. Without it
 * (gone, unreadable), an open would make an empty database at the target that hides both: refused, saying how to finish
 * or undo the swap by hand. With an unreadable journal and no target, any directory a restore leaves beside it is refused.
 */
async function refuseUnjournaledSwap(target: string, journal: 'missing' | 'unreadable'): Promise<void> {
  const entries = await fsp.readdir(path.dirname(target), { withFileTypes: true }).catch(() => []);
  const left = entries.filter((d) => d.isDirectory()).map((d) => path.join(path.dirname(target), d.name)).filter((d) => madeBeside(target, d, 'restore') || madeBeside(target, d, 'pre-restore'));
  const pair = left.map((d) => d.slice(`${path.resolve(target)}.restore-`.length)).find((s) => left.includes(`${path.resolve(target)}.pre-restore-${s}`) && left.includes(`${path.resolve(target)}.restore-${s}`));
  const missing = !(await pathExists(target));
  if (pair === undefined && !(journal === 'unreadable' && missing && left.length > 0)) return;
  const [file, oldDir, newDir, aside] = [journalPath(target), `${target}.pre-restore-${pair}`, `${target}.restore-${pair}`, missing ? '' : `move ${target} aside, then `];
  const what = `a restore into ${target} ${pair !== undefined ? 'stopped between its two renames' : 'was interrupted'}, and ${journal === 'missing' ? 'its journal is gone' : `its journal ${file} is unreadable`}`;
  const where = pair !== undefined ? `the old data is in ${oldDir}, the restored data in ${newDir}, and ${target} ${missing ? 'does not exist' : 'was made since'}` : `${target} does not exist; beside it: ${left.join(', ')}`;
  const how = pair !== undefined
      ? `To finish the restore: ${aside}rename ${newDir} to ${target}, and move the archive directory (archives/, if it was inside) from ${oldDir} into it. To undo it: ${aside}rename ${oldDir} to ${target}, and remove ${newDir}.`
      : `A *.pre-restore-* directory holds the data a restore moved aside; a *.restore-* one restored data, whole only if that restore reached its swap (\`bri data verify -d <it>\`): rename the one to keep to ${target}.`;
  throw new BriError(ErrorCodes.RESTORE_ERROR, `${what}: ${where}; nothing was opened or changed`, {
    hint: `${how}${journal === 'unreadable' ? ` Then remove ${file}.` : ''} Then open it again.`,
    details: { target, journal: file, ...(pair !== undefined ? { oldDir, newDir } : { beside: left }) },
  });
}

/**
 * The journal is beside the target, where another user may write (a parent the application owns, a sticky
 * /tmp): one root (or anyone) acts on must be a file of the target's owner, of root or of this user.
 */
async function refuseJournalOfAnother(target: string, file: string): Promise<void> {
  const st = await fsp.lstat(file);
  const owner = (await fsp.stat(target).catch(() => null)) ?? (await fsp.stat(path.dirname(target)));
  if (!st.isFile()) throw foreignJournal(target, file, 'it is not a regular file');
  if (![0, owner.uid, process.geteuid?.()].includes(st.uid)) throw foreignJournal(target, file, `it belongs to uid ${st.uid}, neither root nor the owner of ${path.basename(target)}`);
}

/**
 * Recovery renames and deletes only what a restore into `target` makes: the journal must name this target,
 * the directories bri puts beside it, and plain relative paths inside them, with no link on the way.
 */
async function refuseForeignJournal(target: string, file: string, j: SwapJournal): Promise<void> {
  const why = journalFault(target, j);
  if (why !== null) throw foreignJournal(target, file, why);
  const moves = j.moveIn ?? [];
  const walks = [...(j.oldDir ? j.carryOver.map((rel) => [j.oldDir!, rel] as const) : []), ...j.carryOver.map((rel) => [target, rel] as const), ...moves.flatMap((m) => [[target, m.from] as const, [target, m.to] as const])];
  for (const [base, rel] of walks) if (await linkAbove(base, rel)) throw foreignJournal(target, file, `a directory on the way to ${path.join(base, rel)} is a link`);
}

/** What in the journal a restore into `target` would not have written, or null. */
function journalFault(target: string, j: SwapJournal): string | null {
  if (j === null || typeof j !== 'object' || typeof j.target !== 'string' || path.resolve(j.target) !== path.resolve(target)) return `it is not for ${target}`;
  if (!madeBeside(target, j.newDir, 'restore') || (j.oldDir !== null && !madeBeside(target, j.oldDir, 'pre-restore'))) return 'its directories are not the ones a restore makes beside the target';
  if ((j.phase !== 'building' && j.phase !== 'swapping') || typeof j.cleanExisting !== 'boolean') return 'its phase is not one a restore writes';
  const moves: unknown = j.moveIn ?? [];
  const paths = Array.isArray(j.carryOver) && Array.isArray(moves) ? [...j.carryOver, ...moves.flatMap((m: { from?: unknown; to?: unknown } | null) => [m?.from, m?.to])] : [null];
  return paths.every(plainRelative) ? null : 'a path it moves is not a plain relative one';
}

/** `<target>.<kind>-<stamp>`: the directory names a restore gives beside its target (the stamp of an earlier version's may differ). */
function madeBeside(target: string, dir: unknown, kind: 'restore' | 'pre-restore'): boolean {
  const prefix = `${path.resolve(target)}.${kind}-`;
  return typeof dir === 'string' && path.resolve(dir).startsWith(prefix) && /^[^/\\\0]+$/.test(path.resolve(dir).slice(prefix.length));
}

/** A path below a directory, as a restore writes one: relative, no empty, `.` or `..` part. */
function plainRelative(rel: unknown): boolean {
  return typeof rel === 'string' && rel !== '' && !path.isAbsolute(rel) && !rel.includes('\0') && rel.split(/[\\/]/).every((part) => part !== '' && part !== '.' && part !== '..');
}

/** Whether a directory between `base` and `rel`'s last part is a link (a rename or delete through it would land elsewhere). */
async function linkAbove(base: string, rel: string): Promise<boolean> {
  const parts = rel.split(/[\\/]/);
  for (let i = 1; i < parts.length; i++) if ((await fsp.lstat(path.join(base, ...parts.slice(0, i))).catch(() => null))?.isSymbolicLink()) return true;
  return false;
}

function foreignJournal(target: string, file: string, why: string): BriError {
  return new BriError(ErrorCodes.RESTORE_ERROR, `the restore journal ${file} was not left by a restore into ${target} (${why}); nothing was changed`, {
    hint: `Look at ${file}: a restore into ${target} interrupted by a crash leaves it; if it is not one (another user's file, a hand-edited one), remove it, then run the command again.`,
    details: { target, journal: file },
  });
}

/**
 * Moves the carried-over paths from the old directory (moved aside) into the target, if still there.
 * A path the target holds too (an archive run between a kill and this recovery made `archives/`) is
 * merged entry by entry; an entry on both sides stays in the old directory. Returns those left
 * behind, so that the old directory is never deleted with them.
 */
async function carryOver(j: SwapJournal): Promise<string[]> {
  if (!j.oldDir) return [];
  const left: string[] = [];
  for (const rel of j.carryOver) await moveOrMerge(path.join(j.oldDir, rel), path.join(j.target, rel), rel, left);
  return left;
}

async function moveOrMerge(from: string, to: string, rel: string, left: string[]): Promise<void> {
  const src = await fsp.lstat(from).catch(() => null);
  if (src === null) return;
  const dst = await fsp.lstat(to).catch(() => null);
  if (dst === null) {
    await fsp.mkdir(path.dirname(to), { recursive: true });
    await fsp.rename(from, to);
    await fsyncDir(path.dirname(to));
    await fsyncDir(path.dirname(from));
  } else if (src.isDirectory() && dst.isDirectory()) {
    for (const name of await fsp.readdir(from)) await moveOrMerge(path.join(from, name), path.join(to, name), path.join(rel, name), left);
  } else left.push(rel);
}

/** Moves each entry of the journal's moveIn directories into place (over an entry of that name), then removes their top-level directory. */
async function moveIn(j: SwapJournal): Promise<void> {
  for (const { from, to } of j.moveIn ?? []) {
    const src = path.join(j.target, from);
    const names = await fsp.readdir(src).catch(() => [] as string[]);
    const dst = path.join(j.target, to);
    if (names.length > 0) await fsp.mkdir(dst, { recursive: true });
    for (const name of names.sort()) await fsp.rename(path.join(src, name), path.join(dst, name));
    if (names.length > 0) await fsyncDir(dst);
    await fsp.rm(path.join(j.target, from.split(path.sep)[0]!), { recursive: true, force: true });
    await fsyncDir(j.target);
  }
}

/**
 * Removes the old directory of a clean restore, unless something of it could not be carried over. A removal that
 * fails (an entry of another user, a mount point) leaves it aside and is said (returned), never thrown: the swap
 * is done, and a journal kept for it made every later open fail on a directory no one needs.
 */
async function dropOldDir(j: SwapJournal, left: readonly string[]): Promise<string | null> {
  if (!j.cleanExisting || !j.oldDir || left.length > 0) return null;
  try {
    await fsp.rm(j.oldDir, { recursive: true, force: true });
    return null;
  } catch (err) {
    const io = ioHint(err);
    return `the old directory ${j.oldDir} (--clean-existing) could not be deleted: ${(err as Error)?.message ?? String(err)}; the restore is done and the restored directory is in place, the old one is left aside: ${io ? `${io} Then remove` : 'Remove'} ${j.oldDir} by hand`;
  }
}

/**
 * Moves the old target aside (if any), the new directory into its place, and the carried-over paths back in.
 * A failure of the second rename puts the old directory back and is thrown as it is (nothing was swapped in).
 * Any failure that leaves the swap half-done (the old directory cannot be put back; or the new one is in place
 * and what follows failed) keeps the journal, for the next open or restore to finish, and is thrown as a
 * RESTORE_ERROR that says where each directory is now (details.swap: 'interrupted' or 'unfinished').
 * Returns warnings: an old directory that --clean-existing could not delete is left aside (the swap is done).
 */
export async function swapIn(j: SwapJournal): Promise<string[]> {
  await writeJournal({ ...j, phase: 'swapping' });
  if (j.oldDir) await fsp.rename(j.target, j.oldDir);
  try {
    await fsp.rename(j.newDir, j.target);
  } catch (err) {
    if (!j.oldDir || (await putBack(j.oldDir, j.target))) throw err;
    throw swapFailure(j, err, 'interrupted');
  }
  try {
    await fsyncDir(path.dirname(j.target));
    const notDropped = await dropOldDir(j, await carryOver(j));
    await moveIn(j);
    await removeJournal(j.target);
    return notDropped === null ? [] : [notDropped];
  } catch (err) {
    throw swapFailure(j, err, 'unfinished');
  }
}

async function putBack(oldDir: string, target: string): Promise<boolean> {
  try {
    await fsp.rename(oldDir, target);
    await fsyncDir(path.dirname(target)).catch(() => undefined); // the rename is made; its durability is the disk's
    return true;
  } catch {
    return false;
  }
}

/** Whether a failed swap left its journal (the swap is half-done): the caller must then keep the new directory and the journal. */
export function swapLeftJournal(err: unknown): boolean {
  return isBriError(err) && (err.details.swap === 'interrupted' || err.details.swap === 'unfinished');
}

function swapFailure(j: SwapJournal, err: unknown, swap: 'interrupted' | 'unfinished'): BriError {
  const why = (err as Error)?.message ?? String(err);
  const next = `The next open of the database or the next restore into ${j.target} finishes it (the journal ${journalPath(j.target)} says where it stopped)`;
  const io = ioHint(err);
  const still = swap === 'unfinished' && j.oldDir ? j.carryOver.filter((rel) => fs.existsSync(path.join(j.oldDir!, rel))) : [];
  const message =
    swap === 'interrupted'
      ? `restore into ${j.target} stopped between its two renames (${why}): ${j.target} does not exist now; the old data is in ${j.oldDir}, the restored data in ${j.newDir}`
      : `restore into ${j.target} was swapped in, but finishing it failed (${why}): the restored data is in ${j.target}${j.oldDir ? `, the old data in ${j.oldDir}` : ''}${still.length > 0 ? ` (with its ${still.join(', ')}, not moved into ${j.target} yet)` : ''}`;
  const undo = swap === 'interrupted' ? `; to keep the old data instead, remove the journal and ${j.newDir}, then rename ${j.oldDir} back to ${j.target}` : '';
  return new BriError(ErrorCodes.RESTORE_ERROR, message, {
    hint: `${io ? `${io} ` : ''}${next}${undo}.`,
    details: { swap, target: j.target, oldDir: j.oldDir, newDir: j.newDir, journal: journalPath(j.target), ...(errnoOf(err) ? { errno: errnoOf(err) } : {}) },
    cause: err,
  });
}

/**
 * The paths a swap could not move: the target, or a carried-over path, that is a mount point (rename
 * fails EBUSY there; the directory it is in moves, and the mount with it). Checked before anything is
 * touched: a restore in place with its archive directory mounted at <target>/archives is refused whole.
 */
export async function immovablePaths(target: string, carry: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of [target, ...carry.map((rel) => path.join(target, rel))]) if (await isMountPoint(p)) out.push(p);
  return out;
}

async function isMountPoint(p: string): Promise<boolean> {
  const [st, up] = await Promise.all([fsp.lstat(p).catch(() => null), fsp.lstat(path.dirname(p)).catch(() => null)]);
  if (st === null || up === null || !st.isDirectory()) return false;
  if (st.dev !== up.dev || st.ino === up.ino) return true;
  // A bind mount of the same file system has the same st_dev: the kernel's list of mounts says it.
  const real = await fsp.realpath(p);
  return (await mountPoints()).has(real);
}

/**
 * The mount points below `target` (its cold tier on a disk of its own): the swap moves them aside with the old
 * directory, where --clean-existing cannot remove them (EBUSY) and the restored directory gets none. None
 * found where the kernel's list of mounts cannot be read (no /proc).
 */
export async function mountsInside(target: string): Promise<string[]> {
  const real = await fsp.realpath(target).catch(() => null);
  if (real === null) return [];
  const below = [...(await mountPoints())].filter((m) => m.startsWith(real === '/' ? '/' : `${real}/`) && m !== real);
  return below.map((m) => path.join(target, path.relative(real, m))).sort();
}

async function mountPoints(): Promise<Set<string>> {
  const text = await fsp.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return new Set(text.split('\n').map((line) => line.split(' ')[4]).filter((m): m is string => m !== undefined).map(unescape));
}
