/**
 * A restore in place between its two renames: the data directory moved to `<dir>.pre-restore-S`, the finished
 * build at `<dir>.restore-S`. With its journal left empty (or gone), opening the database removed the journal and
 * made a new, empty database at `<dir>`, the data hidden beside it. The open (and the CLI's commands) now refuse,
 * RESTORE_ERROR naming both directories and how to finish or undo the swap; an unreadable journal is kept.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-swap-no-journal-');
const S = '20261206T120000000Z';

/** `data` holds K=old; the window of a restore in place: `data` moved aside, a build holding K=new beside it. */
async function inTheSwapWindow(): Promise<{ parent: string; target: string; oldDir: string; newDir: string; journal: string }> {
  const parent = await tmp();
  const target = path.join(parent, 'data');
  const [oldDir, newDir] = [`${target}.pre-restore-${S}`, `${target}.restore-${S}`];
  for (const [dir, v] of [[target, 'old'], [newDir, 'new']] as const) {
    const db = await createDB({ storeConfig: { dataDir: dir } });
    for (let i = 0; i < 20; i++) await db.set(`K${i}`, { v });
    await db.close();
  }
  await fsp.rename(target, oldDir);
  return { parent, target, oldDir, newDir, journal: path.join(parent, '.data.restore.json') };
}

async function valueAt(dir: string): Promise<unknown> {
  const db = await createDB({ storeConfig: { dataDir: dir } });
  try {
    return db.get('K3');
  } finally {
    await db.close();
  }
}

describe('a restore in place between its renames, its journal empty or gone', () => {
  for (const journalKind of ['empty', 'gone'] as const) {
    it(`journal ${journalKind}: createDB and the CLI refuse RESTORE_ERROR naming both directories, make nothing at the target; the hint's steps work`, async () => {
      const { target, oldDir, newDir, journal } = await inTheSwapWindow();
      if (journalKind === 'empty') await fsp.writeFile(journal, '');

      const err = await createDB({ storeConfig: { dataDir: target } }).then(
        async (db) => {
          await db.close();
          return null;
        },
        (e: unknown) => e as { code: string; message: string; hint: string },
      );
      expect(err).toMatchObject({ code: 'RESTORE_ERROR' });
      expect(err!.message).toContain(oldDir);
      expect(err!.message).toContain(newDir);
      expect(err!.hint).toContain(`rename ${newDir} to ${target}`);
      expect(err!.hint).toContain(`rename ${oldDir} to ${target}`);
      expect(fs.existsSync(target)).toBe(false);
      expect(fs.existsSync(journal)).toBe(journalKind === 'empty');

      const cli = await runCli(['data', 'stats', '-d', target]);
      expect(cli.code, cli.stdout + cli.stderr).toBe(30);
      expect(cli.stderr).toContain(newDir);
      expect(fs.existsSync(target)).toBe(false);

      // The hint's way to finish: the restored data opens at the target.
      await fsp.rename(newDir, target);
      await fsp.rm(journal, { force: true });
      expect(await valueAt(target)).toEqual({ v: 'new' });
      expect(await valueAt(oldDir)).toEqual({ v: 'old' });
    });
  }

  it('a target made in the window (the journal gone) is refused too, naming it as made since', async () => {
    const { target, newDir } = await inTheSwapWindow();
    await fsp.mkdir(target);
    await expect(createDB({ storeConfig: { dataDir: target } })).rejects.toMatchObject({ code: 'RESTORE_ERROR', message: expect.stringContaining(`${target} was made since`) });
    expect(fs.existsSync(newDir)).toBe(true);
  });

  it('an unreadable journal, no target and only the build beside it: refused, the journal kept', async () => {
    const { target, oldDir, newDir, journal } = await inTheSwapWindow();
    await fsp.rm(oldDir, { recursive: true });
    await fsp.writeFile(journal, '{"target":');
    await expect(createDB({ storeConfig: { dataDir: target } })).rejects.toMatchObject({ code: 'RESTORE_ERROR', message: expect.stringContaining(newDir) });
    expect(fs.existsSync(target)).toBe(false);
    expect(fs.readFileSync(journal, 'utf8')).toBe('{"target":');
  });

  it('an unreadable journal with the data directory in place and nothing beside it: the database opens, the journal kept aside', async () => {
    const parent = await tmp();
    const target = path.join(parent, 'data');
    const db = await createDB({ storeConfig: { dataDir: target } });
    await db.set('K3', { v: 'here' });
    await db.close();
    await fsp.writeFile(path.join(parent, '.data.restore.json'), '');
    expect(await valueAt(target)).toEqual({ v: 'here' });
    expect(fs.readdirSync(parent).filter((n) => n.startsWith('.data.restore.json.unreadable-'))).toHaveLength(1);
    expect(fs.existsSync(path.join(parent, '.data.restore.json'))).toBe(false);
  });
});
