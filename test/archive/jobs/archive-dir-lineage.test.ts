/**
 * Whose archives an archive directory holds is told by the data directory's own
 * history, never by its path or its instance id alone: a directory that is
 * another database's (a remote's folder, a moved database's), or whose owner is
 * still there while a copy of it archives, is refused before anything is
 * written, and a prune from the wrong data directory decides on none of it.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArchiveApi, offlineHost } from '../../../src/archive/archive-api.js';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-archive-dir-lineage-');

const OWNER_FILE = 'bri-archive-dir.json';
const later = () => new Date(Date.now() + 30 * 86_400_000);
const bris = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.bri')).sort() : []);
const ownerOf = (archiveDir: string) => JSON.parse(fs.readFileSync(path.join(archiveDir, OWNER_FILE), 'utf8')) as { dataDir: string; instances: string[] };
const instanceOf = async (dataDir: string) => (JSON.parse(await fsp.readFile(path.join(dataDir, 'bri-archive.json'), 'utf8')) as { instanceId: string }).instanceId;

async function writeKeys(dataDir: string, prefix: string, n: number): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < n; i++) await db.set(`${prefix}_${i}`, { i });
  await db.close();
}

async function configFile(r: string, name: string, archive: object): Promise<string> {
  const file = path.join(r, `${name}.json`);
  await fsp.writeFile(file, JSON.stringify({ archive }));
  return file;
}

const create = (dataDir: string, config: string) => runCli(['archive', 'create', '-q', '-d', dataDir, '-c', config]);

describe('an archive directory that is another database\'s', () => {
  it("a second database whose archive directory is the first one's local remote folder (no owner file, the first one's only copies) is refused there, USAGE naming the instances, and its prune deletes none of them", async () => {
    const r = await tmp();
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const db1 = path.join(r, 'db1');
    const db2 = path.join(r, 'db2');
    const c1 = await configFile(r, 'c1', { remotes: [{ provider: 'local', name: 'nas', path: nas }], keepLocal: 0, compression: { level: 1 } });
    const c2 = await configFile(r, 'c2', { localDir: path.join(nas, 'archives'), retentionDays: 1 });
    for (let i = 0; i < 2; i++) {
      await writeKeys(db1, `K${i}`, 2);
      const made = await create(db1, c1);
      expect(made.code, made.stderr).toBe(0);
    }
    const onNas = bris(path.join(nas, 'archives'));
    expect(onNas).toHaveLength(2);

    await writeKeys(db2, 'X', 1);
    const refused = await create(db2, c2);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/USAGE/);
    expect(refused.stderr).toContain(await instanceOf(db1));
    expect(refused.stderr).toContain(`bri archive create -d ${db2} --archive-dir ${path.join(db2, 'archives')}`);
    expect(fs.existsSync(path.join(nas, 'archives', OWNER_FILE))).toBe(false);
    expect(bris(path.join(nas, 'archives'))).toEqual(onNas);

    const pruned = await new ArchiveApi(offlineHost(db2, undefined), { localDir: path.join(nas, 'archives'), retentionDays: 1 }).prune({ now: later() });
    expect(pruned.removed).toEqual([]);
    expect(bris(path.join(nas, 'archives'))).toEqual(onNas);
  });

  it("a new database made at a moved database's old path is refused in its archive directory (USAGE: not that database), its prune deletes none of those archives, and the moved one archives there on", async () => {
    const r = await tmp();
    const arch = path.join(r, 'arch');
    const db1 = path.join(r, 'db1');
    const moved = path.join(r, 'db1m');
    const keep = await configFile(r, 'keep', { localDir: arch, compression: { level: 1 } });
    const ret = await configFile(r, 'ret', { localDir: arch, retentionDays: 1 });
    for (let i = 0; i < 2; i++) {
      await writeKeys(db1, `K${i}`, 2);
      expect((await create(db1, keep)).code).toBe(0);
    }
    const theirs = bris(arch);
    await fsp.rename(db1, moved);
    await writeKeys(db1, 'NEW', 1);

    const refused = await create(db1, ret);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/USAGE[\s\S]*a database at this very path made[\s\S]*is not that database/);
    expect(ownerOf(arch).instances).toEqual([await instanceOf(moved)]);
    const pruned = await new ArchiveApi(offlineHost(db1, undefined), { localDir: arch, retentionDays: 1 }).prune({ now: later() });
    expect(pruned.removed).toEqual([]);
    expect(bris(arch)).toEqual(theirs);

    // The moved database: its old path holds another database now, so the directory follows it.
    await writeKeys(moved, 'M', 1);
    const onward = await create(moved, keep);
    expect(onward.code, onward.stderr).toBe(0);
    expect(ownerOf(arch)).toEqual(expect.objectContaining({ dataDir: fs.realpathSync(moved) }));
  });

  it('a data directory archived as a new instance (bri-archive.json moved aside) keeps its external archive directory: its WAL holds their lines', async () => {
    const r = await tmp();
    const arch = path.join(r, 'arch');
    const dataDir = path.join(r, 'data');
    const config = await configFile(r, 'c', { localDir: arch, compression: { level: 1 } });
    await writeKeys(dataDir, 'A', 2);
    expect((await create(dataDir, config)).code).toBe(0);
    const before = await instanceOf(dataDir);
    await fsp.rename(path.join(dataDir, 'bri-archive.json'), path.join(r, 'bri-archive.json.old'));
    await writeKeys(dataDir, 'B', 1);
    const again = await create(dataDir, config);
    expect(again.code, again.stderr).toBe(0);
    expect(ownerOf(arch).instances).toEqual([before, await instanceOf(dataDir)]);
  });
});

describe('two directories of one instance id', () => {
  it("two databases' clones given one --new-instance-id: the second to archive is refused (another directory archives this instance, another database's history), never told to restore from it", async () => {
    const r = await tmp();
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const c = await configFile(r, 'c', { remotes: [{ provider: 'local', name: 'nas', path: nas }], compression: { level: 1 } });
    const [db1, db2, st1, st2] = ['db1', 'db2', 'st1', 'st2'].map((n) => path.join(r, n)) as [string, string, string, string];
    await writeKeys(db1, 'A', 2);
    expect((await create(db1, c)).code).toBe(0);
    await writeKeys(db2, 'B', 2);
    expect((await create(db2, c)).code).toBe(0);
    for (const [from, to] of [[db1, st1], [db2, st2]] as const) {
      const cloned = await runCli(['restore', 'clone', '-q', '-d', from, '-c', c, '--target', to, '--new-instance-id', 'staging']);
      expect(cloned.code, cloned.stderr).toBe(0);
    }
    await writeKeys(st1, 'S1', 1);
    expect((await create(st1, c)).code).toBe(0);
    const onNas = bris(path.join(nas, 'archives'));

    await writeKeys(st2, 'S2', 1);
    const refused = await create(st2, c);
    expect(refused.code, refused.stderr).toBe(23);
    expect(refused.stderr).toMatch(/another directory archives this instance \(staging\)[\s\S]*has made no archive of it yet[\s\S]*another database's history/);
    expect(refused.stderr).toMatch(/another --new-instance-id/);
    expect(refused.stderr).not.toMatch(/restore this directory from the remotes/);
    expect(bris(path.join(nas, 'archives'))).toEqual(onNas);
    // The first clone is not held up.
    await writeKeys(st1, 'S3', 1);
    const onward = await create(st1, c);
    expect(onward.code, onward.stderr).toBe(0);
  });

  it('a copy (cp -a) of a data directory archiving into the external archive directory its original still archives into is refused as another directory archiving the instance; the original goes on', async () => {
    const r = await tmp();
    const arch = path.join(r, 'arch');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const c = await configFile(r, 'c', { localDir: arch, remotes: [{ provider: 'local', name: 'nas', path: nas }], compression: { level: 1 } });
    const db1 = path.join(r, 'db1');
    const copy = path.join(r, 'db1b');
    await writeKeys(db1, 'A', 2);
    expect((await create(db1, c)).code).toBe(0);
    await fsp.cp(db1, copy, { recursive: true });
    await writeKeys(db1, 'B', 1);
    await writeKeys(copy, 'C', 1);
    const before = bris(arch);

    const refused = await create(copy, c);
    expect(refused.code, refused.stderr).toBe(23);
    expect(refused.stderr).toContain(`another directory archives this instance (${await instanceOf(db1)}): ${fs.realpathSync(db1)} makes its archives in ${arch}`);
    expect(refused.stderr).toContain(`bri archive create -d ${copy} --archive-dir ${path.join(copy, 'archives')}`);
    expect(bris(arch)).toEqual(before);
    const original = await create(db1, c);
    expect(original.code, original.stderr).toBe(0);
  });
  it('a copy (cp -a) of a data directory with its default archives/ inside archives into that copied directory of its own, the original still there', async () => {
    const r = await tmp();
    const db1 = path.join(r, 'db1');
    const copy = path.join(r, 'db1b');
    const c = await configFile(r, 'c', { compression: { level: 1 } });
    await writeKeys(db1, 'A', 2);
    expect((await create(db1, c)).code).toBe(0);
    await fsp.cp(db1, copy, { recursive: true });
    await writeKeys(copy, 'C', 1);
    const made = await create(copy, c);
    expect(made.code, made.stderr).toBe(0);
    expect(bris(path.join(copy, 'archives'))).toHaveLength(2);
    await writeKeys(db1, 'B', 1);
    expect((await create(db1, c)).code).toBe(0);
  });
});
