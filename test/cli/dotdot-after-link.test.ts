/**
 * `..` after a symbolic link is where the kernel goes (`ls app/../db` with app -> srv/current lists srv/db):
 * -d, -a and a --config file's relative paths (a config reached through a link) name that directory, not the
 * one path.resolve made of the text (./db: another database was read and archived).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-dotdot-');

async function database(dataDir: string, key: string): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  await db.set(key, { key });
  await db.close();
}

/** r/app -> srv/current-release; the database meant is r/srv/db, a decoy is r/db. */
async function layout(): Promise<string> {
  const r = await tmp();
  await fsp.mkdir(path.join(r, 'srv', 'current-release'), { recursive: true });
  await fsp.symlink('srv/current-release', path.join(r, 'app'));
  await database(path.join(r, 'srv', 'db'), 'MEANT');
  await database(path.join(r, 'db'), 'DECOY');
  return r;
}

const bri = (r: string, ...args: string[]) => runCli(args.map((a) => a.replaceAll('$R', r)));

describe('.. after a symbolic link, as the kernel resolves it', () => {
  it('-d app/../db reads and archives srv/db (the directory ls shows), -a app/../arch is srv/arch', async () => {
    const r = await layout();
    const dump = await bri(r, 'data', 'dump', '-d', '$R/app/../db');
    expect(dump.code, dump.stderr).toBe(0);
    expect(Object.keys(JSON.parse(dump.stdout).documents)).toEqual(['MEANT']);
    const stats = await bri(r, 'data', 'stats', '-d', '$R/app/../db');
    expect(stats.stdout).toContain(`data directory  ${path.join(r, 'srv', 'db')}`);
    const verified = await bri(r, 'data', 'verify', '-d', '$R/app/../db');
    expect(verified.stdout).toContain(`OK ${path.join(r, 'srv', 'db')}: `);
    const created = await bri(r, 'archive', 'create', '-d', '$R/app/../db', '-a', '$R/app/../arch', '-q');
    expect(created.code, created.stderr).toBe(0);
    expect(fs.readdirSync(path.join(r, 'srv', 'arch')).filter((n) => n.endsWith('.bri'))).toHaveLength(1);
    expect(fs.existsSync(path.join(r, 'arch'))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(r, 'srv', 'db', 'bri-archive.json'), 'utf8')).archiveDir).toBe(path.join(r, 'srv', 'arch'));
    expect(fs.existsSync(path.join(r, 'db', 'bri-archive.json'))).toBe(false);
    const listed = await bri(r, 'archive', 'list', '-d', '$R/app/../db', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).archives).toHaveLength(1);
    // --target app/../restored is srv/restored, for the CLI and for the API.
    const restored = await bri(r, 'restore', 'latest', '-d', '$R/app/../db', '-a', '$R/app/../arch', '--target', '$R/app/../restored', '-q');
    expect(restored.code, restored.stderr).toBe(0);
    expect(fs.existsSync(path.join(r, 'srv', 'restored', 'wal'))).toBe(true);
    expect(fs.existsSync(path.join(r, 'restored'))).toBe(false);
    const db = await createDB({ storeConfig: { dataDir: path.join(r, 'srv', 'db'), archive: { localDir: path.join(r, 'srv', 'arch') } } });
    try {
      const result = await db.restore.fromLatest({ targetDir: `${r}/app/../api-restored` });
      expect(result.targetDir).toBe(path.join(r, 'srv', 'api-restored'));
      expect(fs.existsSync(path.join(r, 'api-restored'))).toBe(false);
    } finally {
      await db.close();
    }
  });

  it('a --config reached through a link: "../bri-archives" in it is beside the directory the file really is in', async () => {
    const r = await layout();
    await fsp.mkdir(path.join(r, 'cf', 'etc', 'bri'), { recursive: true });
    await fsp.writeFile(path.join(r, 'cf', 'etc', 'bri', 'conf.json'), JSON.stringify({ localDir: '../bri-archives' }));
    await fsp.symlink('cf/etc/bri', path.join(r, 'cflink'));
    const created = await bri(r, 'archive', 'create', '-d', '$R/db', '-c', '$R/cflink/conf.json', '-q');
    expect(created.code, created.stderr).toBe(0);
    expect(fs.readdirSync(path.join(r, 'cf', 'etc', 'bri-archives')).filter((n) => n.endsWith('.bri'))).toHaveLength(1);
    expect(fs.existsSync(path.join(r, 'bri-archives'))).toBe(false);
    // And a --config path holding `..` after a link: app/../cf... is srv/cf..., which does not exist.
    await fsp.mkdir(path.join(r, 'srv', 'etc'), { recursive: true });
    await fsp.writeFile(path.join(r, 'srv', 'etc', 'conf.json'), JSON.stringify({ localDir: 'here' }));
    const through = await bri(r, 'archive', 'list', '-d', '$R/srv/db', '-c', '$R/app/../etc/conf.json');
    expect(through.code, through.stderr).toBe(0);
  });
});
