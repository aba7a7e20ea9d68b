/** File system steps that survive a crash: write to a temp file, fsync, rename, fsync the directory. */
import { BriError, ErrorCodes } from '../errors.js';
import { joinedPieces } from '../format/text-pieces.js';
import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/** fsyncs a directory so that a rename or create inside it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncs a directory and every directory below it (a tree just written, before it is swapped in). */
export async function fsyncTree(dir: string): Promise<void> {
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) await fsyncTree(path.join(dir, e.name));
  }
  await fsyncDir(dir);
}

export async function fsyncFile(file: string): Promise<void> {
  const handle = await fsp.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** How a fresh file is opened once its name is clear (see freshFile): never an existing file, never through a link. */
export const FRESH_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Removes whatever stands at `file` (a link itself, never the file it names), so that it can be made fresh (FRESH_FLAGS). */
export async function clearName(file: string): Promise<void> {
  await fsp.unlink(file).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
}

/**
 * A file made fresh at `file`, open for writing: whatever stands at that name is removed first, and the open
 * refuses a name that exists again or is a link. A temp name is predictable, in a directory another user may
 * own (root's cron job on an application's directory): a link planted there would have had root's write,
 * chown and chmod land on the file it names.
 */
export async function freshFile(file: string, mode = 0o644, opts: { readable?: boolean } = {}): Promise<fsp.FileHandle> {
  await clearName(file);
  // O_WRONLY is 0: read and write is O_RDWR in its place.
  return fsp.open(file, opts.readable ? (FRESH_FLAGS & ~constants.O_WRONLY) | constants.O_RDWR : FRESH_FLAGS, mode);
}

/**
 * Opens a file this process made (a temp file being finished), never through a link: another user may have
 * put one at its name since (ELOOP then). `flags` as fs.open's numbers, O_NOFOLLOW added.
 */
export function openOwnFile(file: string, flags: number = constants.O_RDONLY): Promise<fsp.FileHandle> {
  return fsp.open(file, flags | constants.O_NOFOLLOW);
}

/**
 * The one durable write: a finished temp file becomes `target` (fsync of the file unless it was
 * synced already, rename over the target, fsync of the directory), so that a crash leaves the old
 * target or the new one, never a part. A failure removes the temp file and leaves the target as it was.
 * The new target has the old one's mode and owner (takeOwnerOf), given through the open file: never a link.
 */
export async function commitFile(tmp: string, target: string, opts: { synced?: boolean } = {}): Promise<void> {
  try {
    const handle = await openOwnFile(tmp);
    try {
      await refuseSharedInode(handle, tmp);
      if (!opts.synced) await handle.sync();
      await takeOwnerOf(handle, target);
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await fsyncDir(path.dirname(target));
}

/**
 * A temp file this process made has one name: another (a hard link put at its name since) would be the file
 * of someone else, given its owner and mode, then renamed over the target.
 */
async function refuseSharedInode(handle: fsp.FileHandle, tmp: string): Promise<void> {
  const st = await handle.stat();
  if (st.isFile() && st.nlink === 1) return;
  throw new BriError(ErrorCodes.IO_ERROR, `the temp file ${tmp} was replaced while it was written (it is not the file this process made)`, {
    hint: `Another user or process changes ${path.dirname(tmp)} while bri writes into it: see who can write there, then run the command again.`,
    details: { path: tmp },
  });
}

/**
 * Only root gives files away; run as root (a cron job, an operator) on the application's directory, a
 * file it left root-owned would lock that application out of its own database or archives.
 */
const mayGiveAway = (): boolean => process.geteuid?.() === 0;

/** Whether a chown failed only because the file system refuses it (root squashed on NFS, an id a user namespace does not map): the write is worth more. */
const refusedChown = (err: NodeJS.ErrnoException): Promise<void> | undefined => (err.code === 'EPERM' || err.code === 'EINVAL' ? undefined : Promise.reject(err));

/** chown that lets the file system refuse; a link is given away itself, never the file it names (lchown). */
export async function chownIfAllowed(p: string, uid: number, gid: number): Promise<void> {
  await fsp.lchown(p, uid, gid).catch(refusedChown);
}

/**
 * Gives the open temp file `handle`, about to be renamed over `target`, what the file it replaces had: its
 * mode and (as root) its owner and group; a new one (as root) the owner and group of the directory it goes
 * into. A private file stays private, a group's file stays the group's, whoever rewrote it.
 */
async function takeOwnerOf(handle: fsp.FileHandle, target: string): Promise<void> {
  const replaced = await fsp.lstat(target).catch(() => null);
  if (replaced === null || !replaced.isFile()) {
    if (!mayGiveAway()) return;
    const dir = await fsp.stat(path.dirname(target));
    await handle.chown(dir.uid, dir.gid).catch(refusedChown);
    return;
  }
  // The owner first: a chown drops set-id bits the mode may have to set again.
  if (mayGiveAway()) await handle.chown(replaced.uid, replaced.gid).catch(refusedChown);
  await handle.chmod(replaced.mode & 0o7777);
}

/** As root: gives `p`, just made, the owner and group of the directory it is in (a link at `p` itself, never what it names). */
export async function ownLikeDir(p: string): Promise<void> {
  if (!mayGiveAway()) return;
  const dir = await fsp.stat(path.dirname(p));
  await chownIfAllowed(p, dir.uid, dir.gid);
}

/** Bytes gathered before one write when the data comes in pieces. */
const PIECES_BATCH = 1024 * 1024;
/**
 * Writes string pieces in writes of about PIECES_BATCH bytes into one kept buffer, small pieces joined
 * first (format/text-pieces.ts). A piece is never cut, so one must not end inside a surrogate pair:
 * the writers' pieces are whole parts of a JSON text (as the cleanup's hash of the pieces already assumes).
 */
async function writePieces(handle: fsp.FileHandle, pieces: Iterable<string>): Promise<void> {
  const buf = Buffer.allocUnsafe(PIECES_BATCH);
  let used = 0;
  const flush = async () => {
    for (let at = 0; at < used; ) at += (await handle.write(buf, at, used - at)).bytesWritten;
    used = 0;
  };
  for (const text of joinedPieces(pieces)) {
    // A UTF-16 unit is at most 3 bytes of UTF-8 (a surrogate pair: 4 bytes for 2 units).
    if (used + text.length * 3 > buf.length) {
      await flush();
      if (text.length * 3 > buf.length) {
        await handle.writeFile(text);
        continue;
      }
    }
    used += buf.write(text, used);
  }
  await flush();
}

/**
 * Writes `data` to `target` atomically: `<target><tmpSuffix>`, fsync, then commitFile. Data in
 * pieces (an iterable of strings) is written as it comes, in writes of about 1 MiB: the whole
 * text is never held.
 */
export async function writeFileDurable(target: string, data: string | Uint8Array | Iterable<string>, tmpSuffix = '.tmp'): Promise<void> {
  const tmp = target + tmpSuffix;
  try {
    const handle = await freshFile(tmp);
    try {
      if (typeof data === 'string' || data instanceof Uint8Array) await handle.writeFile(data);
      else await writePieces(handle, data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    // A failed write (a full disk) leaves the target as it was and no temp file beside it.
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw namingPath(err, target);
  }
  await commitFile(tmp, target, { synced: true });
}

/** A failed write() or fsync() names no path: the file being written is the one at fault, and the hint must say which. */
export function namingPath(err: unknown, file: string): unknown {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e instanceof Error && typeof e.code === 'string' && typeof e.path !== 'string') e.path = file;
  return err;
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * `mkdir -p` that names the real failure: Node's recursive mkdir answers ENOENT when a directory it
 * must make cannot be made (a read-only file system, no permission), and the hint then says the path
 * does not exist. The first missing directory is made alone to get the real reason. Made as root,
 * they get the owner and group of the directory that holds them (ownLikeDir). Returns the outermost
 * directory it made (undefined: none), for a caller that takes them out again.
 */
export async function makeDirs(dir: string): Promise<string | undefined> {
  const first = await makeMissingDirs(dir);
  if (first !== undefined) await ownMadeDirs(path.resolve(first), path.resolve(dir));
  return first === undefined ? undefined : path.resolve(first);
}

/** `mkdir -p` of `dir`; the first directory it made (undefined: none). */
async function makeMissingDirs(dir: string): Promise<string | undefined> {
  try {
    return await fsp.mkdir(dir, { recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    let missing = path.resolve(dir);
    for (let up = path.dirname(missing); up !== missing && !(await pathExists(up)); up = path.dirname(up)) missing = up;
    // Throws the real reason; made meanwhile (or made now), the whole path is tried once more.
    const made = await fsp.mkdir(missing).then(
      () => missing,
      (e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? undefined : Promise.reject(e)),
    );
    const below = await fsp.mkdir(dir, { recursive: true });
    return made ?? below;
  }
}

/** As root: the directories made, `first` down to `last`, get the owner and group of the one that held them. */
async function ownMadeDirs(first: string, last: string): Promise<void> {
  if (!mayGiveAway()) return;
  const made = [last];
  while (made[0] !== first && path.dirname(made[0]!) !== made[0]) made.unshift(path.dirname(made[0]!));
  // From the top down: each takes the owner its parent has by then.
  for (const p of made) await ownLikeDir(p);
}

/**
 * A folder bri names inside a directory another user may own (the archive directory's `.tmp`, `.seeds`,
 * `.copies`, a create's stage folder), made with the directories above it, and a real directory: a link
 * planted at its name (by the directory's owner, for root's cron job to follow) is removed, never what it
 * names, and the folder made in its place, so root's files land where they are meant to and nowhere else.
 * Anything else at the name (a file) is IO_ERROR naming it: bri removes only what it could have made.
 */
export async function makeOwnDir(dir: string): Promise<void> {
  await makeDirs(path.dirname(dir));
  const st = await fsp.lstat(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : Promise.reject(err)));
  if (st?.isDirectory()) return;
  if (st !== null && !st.isSymbolicLink()) {
    throw new BriError(ErrorCodes.IO_ERROR, `${dir} is not a directory: bri keeps its own files there`, {
      hint: `Move ${dir} away (it is not bri's), then run again.`,
      details: { path: dir },
    });
  }
  if (st !== null) await clearName(dir);
  try {
    await fsp.mkdir(dir);
  } catch (err) {
    // Made meanwhile by a run beside this one: a directory is what was wanted; a link again is refused.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !(await fsp.lstat(dir)).isDirectory()) throw err;
    return;
  }
  await ownLikeDir(dir);
}
