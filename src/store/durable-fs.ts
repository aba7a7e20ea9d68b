/** File system steps that survive a crash: write to a temp file, fsync, rename, fsync the directory. */
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

export async function fsyncFile(file: string): Promise<void> {
  const handle = await fsp.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `data` to `target` atomically: `<target>.tmp`, fsync, rename, fsync of the directory. */
export async function writeFileDurable(target: string, data: string | Uint8Array, tmpSuffix = '.tmp'): Promise<void> {
  const tmp = target + tmpSuffix;
  try {
    const handle = await fsp.open(tmp, 'w', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, target);
  } catch (err) {
    // A failed write (a full disk) leaves the target as it was and no temp file beside it.
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await fsyncDir(path.dirname(target));
}

/** Renames and makes the rename durable in both directories. */
export async function renameDurable(from: string, to: string): Promise<void> {
  await fsp.rename(from, to);
  await fsyncDir(path.dirname(to));
  if (path.dirname(from) !== path.dirname(to)) await fsyncDir(path.dirname(from));
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

/** Creates a directory (and parents) and fsyncs its parent so that it survives a crash. */
export async function mkdirDurable(dir: string): Promise<void> {
  const existed = await pathExists(dir);
  await fsp.mkdir(dir, { recursive: true });
  if (!existed) await fsyncDir(path.dirname(path.resolve(dir)));
}
