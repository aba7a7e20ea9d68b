/**
 * `archive download <id> <file>` and `archive repair --out <file>` write a file the user names: what is
 * already there must not be lost to a rename. An existing file or a symbolic link is replaced only with
 * --force (the link itself, never what it points to); a FIFO is never replaced; a trailing slash names a
 * directory (made if missing) to write `<id>.bri` into. Real CLI on a real archive directory.
 */
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { isBriError } from '../../../src/errors.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-output-file-');

async function archived(): Promise<{ root: string; dataDir: string; id: string }> {
  const root = await tmp();
  const dataDir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
  for (let i = 0; i < 3; i++) await db.set(`k${i}`, { i });
  await db.close();
  const made = await runCli(['archive', 'create', '-d', dataDir, '--quiet']);
  expect(made.code, made.stderr).toBe(0);
  const file = (await fsp.readdir(path.join(dataDir, 'archives'))).find((f) => f.endsWith('.bri'));
  return { root, dataDir, id: path.basename(file!, '.bri') };
}

describe('a download or repaired copy does not replace what is at its target', () => {
  it('refuses an existing file and a symbolic link without --force, a FIFO always; --force replaces the link itself', async () => {
    const { root, dataDir, id } = await archived();
    const notes = path.join(root, 'notes.txt');
    await fsp.writeFile(notes, 'precious notes');
    await fsp.writeFile(path.join(root, 'real.txt'), 'other');
    const link = path.join(root, 'link.bri');
    await fsp.symlink('real.txt', link);
    const fifo = path.join(root, 'fifo.bri');
    execFileSync('mkfifo', [fifo]);

    for (const args of [['archive', 'download', id, notes], ['archive', 'repair', id, '--out', notes]]) {
      const r = await runCli([...args, '-d', dataDir]);
      expect(r.code, r.stdout).toBe(2);
      expect(r.stderr).toContain(`${notes} is an existing file: not replaced without --force`);
    }
    expect(await fsp.readFile(notes, 'utf8')).toBe('precious notes');

    const linked = await runCli(['archive', 'download', id, link, '-d', dataDir]);
    expect(linked.code).toBe(2);
    expect(linked.stderr).toContain('is a symbolic link (to real.txt)');
    expect(linked.stderr).toContain('replaces the link itself');
    const piped = await runCli(['archive', 'download', id, fifo, '-d', dataDir, '--force']);
    expect(piped.code).toBe(2);
    expect(piped.stderr).toContain('is a FIFO (named pipe), not a regular file');
    expect((await fsp.lstat(fifo)).isFIFO()).toBe(true);

    const forced = await runCli(['archive', 'download', id, link, '-d', dataDir, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await fsp.lstat(link)).isFile()).toBe(true);
    expect(await fsp.readFile(path.join(root, 'real.txt'), 'utf8')).toBe('other');
    const over = await runCli(['archive', 'download', id, notes, '-d', dataDir, '-f']);
    expect(over.code, over.stderr).toBe(0);
    expect((await fsp.stat(notes)).size).toBe((await fsp.stat(path.join(dataDir, 'archives', `${id}.bri`))).size);
  });

  it('a target ending in a slash is a directory, made if missing, that gets <id>.bri', async () => {
    const { root, dataDir, id } = await archived();
    const r = await runCli(['archive', 'download', id, path.join(root, 'newdir') + '/', '-d', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    expect((await fsp.stat(path.join(root, 'newdir', `${id}.bri`))).isFile()).toBe(true);
  });

  it('the API refuses an empty target instead of writing into the working directory', async () => {
    const { dataDir, id } = await archived();
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
    try {
      const err = await db.archive.download(id, '').catch((e: unknown) => e);
      expect(isBriError(err, 'USAGE')).toBe(true);
      expect((err as Error).message).toContain('the download target is empty');
      await expect(fsp.access(path.join(process.cwd(), `${id}.bri`))).rejects.toThrow();
    } finally {
      await db.close();
      await fsp.rm(path.join(process.cwd(), `${id}.bri`), { force: true });
    }
  });
});
