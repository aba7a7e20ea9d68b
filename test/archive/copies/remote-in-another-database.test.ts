/**
 * A local remote never lies in another database's data directory or archive directory: that database
 * takes what is there as its own (its first archive adopts the copies, its prune and its restore with
 * --clean-existing delete them). Refused wherever the settings are used, so a database made there after
 * they were accepted is found on the next use.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { isBriError } from '../../../src/errors.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-remote-other-db-');

async function makeDatabase(dataDir: string, archive?: Record<string, unknown>): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir, ...(archive ? { archive } : {}) } });
  await db.set('A', { v: 1 });
  if (archive) await db.archive.create();
  await db.close();
}

/** The CONFIG_INVALID createDB answers with a local remote 'nas' at `nas`, or null when it opens. */
async function refusalFor(dataDir: string, nas: string): Promise<string | null> {
  try {
    const db = await createDB({ storeConfig: { dataDir, archive: { remotes: [{ provider: 'local', name: 'nas', path: nas }], keepLocal: 0 } } });
    await db.close();
    return null;
  } catch (err) {
    expect(isBriError(err, 'CONFIG_INVALID'), String(err)).toBe(true);
    return (err as Error).message;
  }
}

describe('a local remote in another database is refused', () => {
  it("bri archive create, prune and restore list: a remote at another database's data directory is CONFIG_INVALID naming the remote and the directory, and nothing is written there", async () => {
    const r = await tmp();
    const db1 = path.join(r, 'db1');
    const db2 = path.join(r, 'db2');
    await makeDatabase(db1);
    await makeDatabase(db2);
    const config = path.join(r, 'c2.json');
    await fsp.writeFile(config, JSON.stringify({ archive: { remotes: [{ provider: 'local', name: 'nas', path: db1 }], keepLocal: 0 } }));
    const before = fs.readdirSync(db1).sort();
    for (const args of [['archive', 'create', '--quiet'], ['archive', 'prune'], ['restore', 'list']]) {
      const res = await runCli([...args, '-d', db2, '-c', config]);
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr).toMatch(/CONFIG_INVALID/);
      expect(res.stderr).toContain(`remote 'nas' (${fs.realpathSync(db1)}) is another database's data directory`);
      expect(res.stderr).toMatch(/hint: Point archive remote 'nas' at a directory of its own/);
    }
    expect(fs.readdirSync(db1).sort()).toEqual(before);
    expect(fs.existsSync(path.join(db2, 'archives'))).toBe(false);
  });

  it("createDB: a remote inside another database's data directory (its wal/, a folder of it, its archives/) is refused before the data directory is made", async () => {
    const r = await tmp();
    const db1 = path.join(r, 'db1');
    await makeDatabase(db1, {});
    const db2 = path.join(r, 'db2');
    for (const inside of ['wal', 'x', 'x/y']) {
      expect(await refusalFor(db2, path.join(db1, inside))).toMatch(new RegExp(`remote 'nas' .* is inside another database's data directory ${fs.realpathSync(db1)}:`));
    }
    expect(await refusalFor(db2, path.join(db1, 'archives'))).toMatch(new RegExp(`is the archive directory ${fs.realpathSync(db1)}/archives of the data directory ${fs.realpathSync(db1)}:`));
    expect(fs.existsSync(db2)).toBe(false);
  });

  it("a remote whose archives/ folder is another database's archive directory (its localDir, elsewhere) is refused", async () => {
    const r = await tmp();
    const db1 = path.join(r, 'db1');
    await makeDatabase(db1, { localDir: path.join(r, 'shared', 'archives') });
    expect(fs.existsSync(path.join(r, 'shared', 'archives', 'bri-archive-dir.json'))).toBe(true);
    expect(await refusalFor(path.join(r, 'db2'), path.join(r, 'shared'))).toMatch(/remote 'nas' \(.*shared\/archives\) is the archive directory .* of the data directory .*db1/);
    expect(await refusalFor(path.join(r, 'db2'), path.join(r, 'shared', 'archives', 'sub'))).toMatch(/is inside the archive directory/);
  });

  it('a database made at the remote after the settings were accepted is found on their next use', async () => {
    const r = await tmp();
    const db2 = path.join(r, 'db2');
    const nas = path.join(r, 'nas');
    expect(await refusalFor(db2, nas)).toBeNull();
    await makeDatabase(nas);
    expect(await refusalFor(db2, nas)).toMatch(/another database's data directory/);
  });

  it('a remote beside databases, or below a folder with an unrelated wal/ (no BRI segments), is accepted', async () => {
    const r = await tmp();
    await makeDatabase(path.join(r, 'db1'));
    await fsp.mkdir(path.join(r, 'backups', 'wal'), { recursive: true });
    await fsp.writeFile(path.join(r, 'backups', 'wal', '000000010000000000000001'), 'postgres');
    expect(await refusalFor(path.join(r, 'db2'), path.join(r, 'nas'))).toBeNull();
    expect(await refusalFor(path.join(r, 'db3'), path.join(r, 'backups', 'bri'))).toBeNull();
  });
});
