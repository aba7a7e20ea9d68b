/** File system steps that survive a crash: write to a temp file, fsync, rename, fsync the directory. */
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

/**
 * The one durable write: a finished temp file becomes `target` (fsync of the file unless it was
 * synced already, rename over the target, fsync of the directory), so that a crash leaves the old
 * target or the new one, never a part. A failure removes the temp file and leaves the target as it was.
 */
export async function commitFile(tmp: string, target: string, opts: { synced?: boolean } = {}): Promise<void> {
  try {
    if (!opts.synced) await fsyncFile(tmp);
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await fsyncDir(path.dirname(target));
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
    const handle = await fsp.open(tmp, 'w', 0o644);
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
 * does not exist. The first missing directory is made alone to get the real reason.
 */
export async function makeDirs(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { recursive: true });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    let missing = path.resolve(dir);
    for (let up = path.dirname(missing); up !== missing && !(await pathExists(up)); up = path.dirname(up)) missing = up;
    // Throws the real reason; made meanwhile (or made now), the whole path is tried once more.
    await fsp.mkdir(missing).catch((e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? undefined : Promise.reject(e)));
  }
  await fsp.mkdir(dir, { recursive: true });
}
