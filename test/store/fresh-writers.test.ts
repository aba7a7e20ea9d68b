/**
 * Every file bri writes is made fresh, and every folder it names is a real folder: names such as
 * `wal/000001.wal` of a restore, a download's scratch file, `archives/.tmp`, `.seeds`, `.copies` are
 * predictable, in directories the application's user owns, and root's command followed a link planted
 * there: it wrote into the file the link named, or made its stage folder (and its files) wherever the
 * link pointed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeOwnDir } from '../../src/store/durable-fs.js';
import { SegmentFile } from '../../src/store/wal/segment-file.js';
import { openSegment } from '../../src/store/wal/write-failure.js';
import { downloadRanged } from '../../src/remote/ranged-download.js';
import { createLocalRemote } from '../../src/remote/local.js';
import { APP_GID, APP_UID, NEEDS_ROOT, appWrites, isRoot, openToApp, rootCli } from '../support/app-user.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { expectUntouched, plantLink, privateFile as makePrivateFile } from '../support/planted-links.js';

const tmp = useTempDirs('bri-fresh-writers-');

const privateFile = async (): Promise<string> => makePrivateFile(await tmp());

describe('a link planted at the name of a file bri writes is replaced, never written through', () => {
  it('SegmentFile.create (a restore writing wal/000001.wal): the file the link named is untouched', async () => {
    const victim = await privateFile();
    const dir = await tmp();
    fs.mkdirSync(path.join(dir, 'wal'));
    plantLink(path.join(dir, 'wal', '000001.wal'), victim);
    const seg = await SegmentFile.create(dir, 1);
    await seg.append('{"x":1}\n', 1);
    await seg.finish();
    expect(fs.lstatSync(path.join(dir, 'wal', '000001.wal')).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'wal', '000001.wal'), 'utf8')).toBe('{"x":1}\n');
    expectUntouched(victim);
  });

  it('openSegment (the store appending): a segment that is a link is refused, the file it names untouched', async () => {
    const victim = await privateFile();
    const dir = await tmp();
    const seg = path.join(dir, '000003.wal');
    plantLink(seg, victim);
    expect(() => openSegment(seg)).toThrow();
    expectUntouched(victim);
  });

  it('downloadRanged (a remote copy fetched beside the archives): its scratch name linked elsewhere leaves that file as it was', async () => {
    const victim = await privateFile();
    const remoteDir = await tmp();
    const store = createLocalRemote({ path: remoteDir });
    const body = Buffer.from('archive bytes '.repeat(1000));
    fs.writeFileSync(path.join(remoteDir, 'obj.bri'), body);
    const scratch = path.join(await tmp(), '.download-obj.bri');
    plantLink(scratch, victim);
    await downloadRanged(store, 'obj.bri', scratch, { size: body.length, partBytes: 4096 });
    expect(fs.lstatSync(scratch).isFile()).toBe(true);
    expect(fs.readFileSync(scratch).equals(body)).toBe(true);
    expectUntouched(victim);
  });
});

describe('makeOwnDir: the folders bri names are real folders', () => {
  it('a link at the name (to another directory) is replaced by a folder; the directory it named gets nothing', async () => {
    const elsewhere = await tmp();
    const archiveDir = await tmp();
    const name = path.join(archiveDir, '.tmp');
    fs.symlinkSync(elsewhere, name);
    await makeOwnDir(name);
    expect(fs.lstatSync(name).isDirectory()).toBe(true);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });

  it('a dangling link is replaced too; an existing folder is kept with what it holds', async () => {
    const archiveDir = await tmp();
    const dangling = path.join(archiveDir, '.seeds');
    fs.symlinkSync(path.join(archiveDir, 'nowhere'), dangling);
    await makeOwnDir(dangling);
    expect(fs.lstatSync(dangling).isDirectory()).toBe(true);
    expect(fs.existsSync(path.join(archiveDir, 'nowhere'))).toBe(false);
    fs.writeFileSync(path.join(dangling, 'kept'), 'x');
    await makeOwnDir(dangling);
    expect(fs.readFileSync(path.join(dangling, 'kept'), 'utf8')).toBe('x');
  });

  it('a file at the name is IO_ERROR naming it, and kept (bri removes only what it could have made)', async () => {
    const archiveDir = await tmp();
    const name = path.join(archiveDir, '.copies');
    fs.writeFileSync(name, 'not bri');
    await expect(makeOwnDir(name)).rejects.toMatchObject({ code: 'IO_ERROR', details: { path: name } });
    expect(fs.readFileSync(name, 'utf8')).toBe('not bri');
  });

  it('the directories above are made as mkdir -p would', async () => {
    const root = await tmp();
    await makeOwnDir(path.join(root, 'a', 'b', '.tmp'));
    expect(fs.lstatSync(path.join(root, 'a', 'b', '.tmp')).isDirectory()).toBe(true);
  });
});

describe.skipIf(!isRoot)(`root's archive create and upload on the application's directory${NEEDS_ROOT}`, () => {
  it('follow no link the application planted at archives/.tmp, .seeds or .copies: the directories they named get nothing, the archive is made and uploaded', async () => {
    const parent = await tmp();
    openToApp(parent);
    fs.chownSync(parent, APP_UID, APP_GID);
    const dataDir = path.join(parent, 'data');
    const made = await appWrites(dataDir, 3);
    expect(made.stdout.trim(), made.stderr).toBe('ok');
    const archives = path.join(dataDir, 'archives');
    fs.mkdirSync(archives, { recursive: true });
    fs.chownSync(archives, APP_UID, APP_GID);
    // Root's own directories, where root's files must never land by the application's doing.
    const victims = { '.tmp': await tmp(), '.seeds': await tmp(), '.copies': await tmp() };
    for (const [name, target] of Object.entries(victims)) {
      fs.symlinkSync(target, path.join(archives, name));
      fs.lchownSync(path.join(archives, name), APP_UID, APP_GID);
    }
    const nas = await tmp();
    const config = path.join(await tmp(), 'bri.json');
    fs.writeFileSync(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: nas }] }));
    const created = await rootCli(['archive', 'create', '-d', dataDir, '--config', config, '--json']);
    expect(created.code, created.stderr).toBe(0);
    for (const [name, target] of Object.entries(victims)) {
      expect(fs.readdirSync(target), `${name}'s link target`).toEqual([]);
      expect(fs.lstatSync(path.join(archives, name)).isDirectory(), name).toBe(true);
    }
    const listed = await rootCli(['archive', 'list', '-d', dataDir, '--config', config, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).archives).toHaveLength(1);
    // The upload's copy record (under .copies) was written: the upload is confirmed, its object on the NAS.
    expect(fs.readdirSync(path.join(archives, '.copies')).length).toBeGreaterThan(0);
    expect(fs.readdirSync(nas, { recursive: true }).some((n) => String(n).endsWith('.bri'))).toBe(true);
  }, 120_000);
});
