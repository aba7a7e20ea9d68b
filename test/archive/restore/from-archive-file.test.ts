/**
 * A restore from an archive handed over as a file (the design note's "direct files": `bri restore from
 * ./backup.bri.zst`), the way a lost disk is met: the data directory and its archives are gone, a download of
 * an archive is what is left. The file is put in the archive directory under its id, checked and mended on the
 * way, and is from then on an archive like any other (to-timestamp, the next create's chain). A dry run, a
 * question, a clone and a failure leave the archive directory as they found it; the caller's file is never written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { toPlainState, type PlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { REPO_ROOT } from '../../support/child.js';
import { runCli } from '../../support/cli.js';
import { fillLeaving, mountTmpfs, umount } from '../../support/tmpfs.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-from-file-');

async function stateOf(dir: string): Promise<PlainState> {
  return toPlainState((await recover(dir)).state);
}

/** A database with two archives (the second starting at line 31), downloaded as files; then its directory is lost. */
async function lostDisk() {
  const r = await tmp();
  const dataDir = path.join(r, 'data');
  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
  for (let i = 0; i < 30; i++) await db.set(`A_${i}`, { i, pad: 'a'.repeat(200 + i) });
  const first = await db.archive.create();
  for (let i = 0; i < 30; i++) await db.set(`B_${i}`, { i, pad: 'b'.repeat(300 + i) });
  const second = await db.archive.create();
  const state = toPlainState(db.state);
  await db.close();
  const midState = await replayTo(dataDir, first.manifest.timeRange.walLines.end);
  const file = path.join(r, 'backup.bri.zst');
  fs.copyFileSync(second.file, file);
  const firstFile = path.join(r, 'first.bri.zst');
  fs.copyFileSync(first.file, firstFile);
  fs.rmSync(dataDir, { recursive: true });
  return { r, file, firstFile, first, second, state, midState };
}

/** The state after the first `lines` lines, by a restore of a copy (the archives are the reference here). */
async function replayTo(dataDir: string, lines: number): Promise<PlainState> {
  const copy = path.join(path.dirname(dataDir), `ref-${lines}`);
  const api = openRestore({ dataDir });
  const latest = await api.list();
  const a = latest.archives.find((x) => x.manifest.timeRange.walLines.end === lines)!;
  await api.clone({ archiveId: a.manifest.archiveId, targetDir: copy });
  const s = await stateOf(copy);
  fs.rmSync(copy, { recursive: true });
  return s;
}

function damage(file: string, at: number, bytes = 16): void {
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.alloc(bytes, 0x5a), 0, bytes, at);
  fs.closeSync(fd);
}

const entries = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

describe('bri restore from <file>: a lost disk with a downloaded archive', () => {
  it('restores the file into a new directory, keeps it as an archive there, and the database then archives, chains and restores to any moment', async () => {
    const { r, file, second, state } = await lostDisk();
    const before = fs.readFileSync(file);
    const dataDir = path.join(r, 'new-disk', 'data');
    const res = await runCli(['restore', 'from', file, '-d', dataDir, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.archive).toBe(second.archiveId);
    expect(out.repaired).toBeNull();
    expect(await stateOf(dataDir)).toEqual(state);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    // An archive like any other: listed, and verified under its id.
    const listed = await runCli(['archive', 'list', '-d', dataDir, '--json']);
    expect(JSON.parse(listed.stdout).archives.map((a: { manifest: { archiveId: string } }) => a.manifest.archiveId)).toEqual([second.archiveId]);
    expect((await runCli(['archive', 'verify', second.archiveId, '-d', dataDir])).code).toBe(0);

    // The database goes on: its next archive follows the file's, and every moment of both restores.
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    const before3 = Date.now();
    await new Promise((res2) => setTimeout(res2, 5));
    for (let i = 0; i < 5; i++) await db.set(`C_${i}`, { i });
    const third = await db.archive.create();
    const end = toPlainState(db.state);
    await db.close();
    expect(third.manifest.timeRange.walLines.start).toBe(second.manifest.timeRange.walLines.end);
    expect(third.manifest.chain.prevPointer).toBe(second.manifest.chain.lastPointer);
    const back = path.join(r, 'back');
    const at = await runCli(['restore', 'clone', '-d', dataDir, '--target', back, '--at', String(before3)]);
    expect(at.code, at.stderr).toBe(0);
    expect(await stateOf(back)).toEqual(state);
    const latest = await runCli(['restore', 'latest', '-d', dataDir, '--force', '--clean-existing']);
    expect(latest.code, latest.stderr).toBe(0);
    expect(await stateOf(dataDir)).toEqual(end);
  });

  it('a damaged file is repaired on its copy, said as the restore\'s repair; the file itself is not written', async () => {
    const { r, file, state, second } = await lostDisk();
    damage(file, Math.floor(fs.statSync(file).size * 0.4));
    const damaged = fs.readFileSync(file);
    const dataDir = path.join(r, 'data2');
    const api = openRestore({ dataDir });
    const res = await api.from(file);
    await api.close();
    expect(res.repaired).not.toBeNull();
    expect(res.warnings.join('\n')).toContain(file);
    expect(await stateOf(dataDir)).toEqual(state);
    expect(fs.readFileSync(file).equals(damaged)).toBe(true);
    // The copy kept is whole.
    const v = await runCli(['archive', 'verify', second.archiveId, '-d', dataDir]);
    expect(v.code, v.stderr + v.stdout).toBe(0);
  });

  it('an older archive file restores its own end; the directory then holds that archive', async () => {
    const { r, firstFile, first, midState } = await lostDisk();
    const dataDir = path.join(r, 'data3');
    const res = await runCli(['restore', 'from', firstFile, '-d', dataDir]);
    expect(res.code, res.stderr).toBe(0);
    expect(await stateOf(dataDir)).toEqual(midState);
    expect(entries(path.join(dataDir, 'archives')).filter((n) => n.endsWith('.bri'))).toEqual([`${first.archiveId}.bri`]);
  });
});

describe('what a file restore leaves when it does not restore', () => {
  it('a dry run, `restore info` and `restore verify` leave no directory behind, and name the file', async () => {
    const { r, file, second } = await lostDisk();
    const dataDir = path.join(r, 'never', 'data');
    const dry = await runCli(['restore', 'from', file, '-d', dataDir, '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).plan.archive.manifest.archiveId).toBe(second.archiveId);
    const info = await runCli(['restore', 'info', file, '-d', dataDir]);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toContain(file);
    const verify = await runCli(['restore', 'verify', file, '-d', dataDir]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toContain(`OK ${file}`);
    expect(fs.existsSync(path.join(r, 'never'))).toBe(false);
  });

  it('a file that is no archive is ARCHIVE_CORRUPTED naming it, and nothing is made', async () => {
    const r = await tmp();
    const junk = path.join(r, 'junk.bri');
    fs.writeFileSync(junk, Buffer.alloc(8192, 7));
    const dataDir = path.join(r, 'data');
    const res = await runCli(['restore', 'from', junk, '-d', dataDir]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('ARCHIVE_CORRUPTED');
    expect(res.stderr).toContain(junk);
    expect(res.stderr).not.toContain('scratch');
    expect(fs.existsSync(dataDir)).toBe(false);
    // A path to nothing is judged as an id, and none can have a path separator.
    const missing = await runCli(['restore', 'from', path.join(r, 'missing.bri'), '-d', dataDir]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('takes an archive file that exists');
  });

  it('a restore that fails after the adoption takes the copy out again; a copy that was there already stays', async () => {
    const { r, file, second } = await lostDisk();
    const dataDir = path.join(r, 'busy');
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, 'notes.txt'), 'mine');
    const refused = await runCli(['restore', 'from', file, '-d', dataDir]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('not empty');
    expect(entries(dataDir)).toEqual(['notes.txt']);
    // The same bytes there already: used, and kept when the restore fails.
    const archives = path.join(dataDir, 'archives');
    fs.mkdirSync(archives);
    fs.copyFileSync(file, path.join(archives, `${second.archiveId}.bri`));
    expect((await runCli(['restore', 'from', file, '-d', dataDir])).code).not.toBe(0);
    expect(entries(archives)).toEqual([`${second.archiveId}.bri`]);
  });

  it('an I/O error once the copy is renamed in (the directory\'s fsync) takes it out again; one after the swap keeps it, and the next open finishes the restore with it', async () => {
    const { r, file, second, state } = await lostDisk();
    const dataDir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('OLD', { x: 1 });
    await db.close();
    const before = entries(dataDir);
    const failing = (after: number) => runCli(['restore', 'from', file, '-d', dataDir, '--force'], { BRI_IO_FAULT: JSON.stringify({ code: 'EIO', op: 'fsync', under: dataDir, after }) }, { preload: path.join(REPO_ROOT, 'test/support/io-faults.ts') });
    // The first fsync under the directory is the archive directory's, after the copy's rename: nothing of it may stay.
    const adopting = await failing(1);
    expect(adopting.code).not.toBe(0);
    expect(adopting.stderr).toContain('IO_ERROR');
    expect(entries(dataDir)).toEqual(before);
    // The second is the swap's: the restore is in place, and the archive it was made from goes with it.
    const swapping = await failing(2);
    expect(swapping.code).not.toBe(0);
    expect(swapping.stderr).toContain('was swapped in, but finishing it failed');
    const reopened = await createDB({ storeConfig: { dataDir } });
    const now = toPlainState(reopened.state);
    await reopened.close();
    expect(now).toEqual(state);
    expect(entries(path.join(dataDir, 'archives')).filter((n) => n.endsWith('.bri'))).toEqual([`${second.archiveId}.bri`]);
  });

  it('another copy of that id there already is the user\'s to choose: refused, both left as they are', async () => {
    const { r, file, second } = await lostDisk();
    const dataDir = path.join(r, 'data');
    const archives = path.join(dataDir, 'archives');
    fs.mkdirSync(archives, { recursive: true });
    const there = path.join(archives, `${second.archiveId}.bri`);
    fs.copyFileSync(file, there);
    damage(there, Math.floor(fs.statSync(there).size * 0.4));
    const rotted = fs.readFileSync(there);
    const res = await runCli(['restore', 'from', file, '-d', dataDir]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('RESTORE_ERROR');
    expect(res.stderr).toContain(`bri restore from ${second.archiveId}`);
    expect(fs.readFileSync(there).equals(rotted)).toBe(true);
    expect(entries(archives)).toEqual([`${second.archiveId}.bri`]);
  });

  it('a full disk under the archive directory: IO_ERROR saying so, and no part of the copy left there', async (ctx) => {
    const { r, file } = await lostDisk();
    const dataDir = path.join(r, 'data');
    const archives = path.join(dataDir, 'archives');
    fs.mkdirSync(archives, { recursive: true });
    const cannot = mountTmpfs(archives, 'size=1m');
    if (cannot !== null) return ctx.skip(cannot);
    try {
      fillLeaving(archives, 4096);
      const res = await runCli(['restore', 'from', file, '-d', dataDir]);
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain('IO_ERROR');
      expect(res.stderr).toMatch(/full|ENOSPC/);
      expect(res.stderr).toContain(`The disk (or quota) holding ${archives} is full`);
      expect(res.stderr).not.toContain('scratch');
      expect(entries(archives)).toEqual(['filler']);
      expect(entries(dataDir)).toEqual(['archives']);
    } finally {
      umount(archives);
    }
  });

  it('--source naming a remote is refused: the file is the source', async () => {
    const { r, file } = await lostDisk();
    const res = await runCli(['restore', 'from', file, '-d', path.join(r, 'data'), '--source', 'local']);
    expect(res.code, res.stderr).toBe(0);
    const other = await runCli(['restore', 'from', file, '-d', path.join(r, 'data2'), '--source', 's3']);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('USAGE');
    expect(fs.existsSync(path.join(r, 'data2'))).toBe(false);
  });
});

describe('bri restore clone <file>', () => {
  it('makes a new instance from the file and leaves the source\'s archive directory as it was; the clone archives on its own', async () => {
    const { r, file, state } = await lostDisk();
    const source = path.join(r, 'other');
    const db0 = await createDB({ storeConfig: { dataDir: source } });
    await db0.set('OTHER', { x: 1 });
    await db0.archive.create();
    await db0.close();
    const archivesBefore = entries(path.join(source, 'archives'));
    const clone = path.join(r, 'clone');
    const res = await runCli(['restore', 'clone', file, '-d', source, '--target', clone, '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).newInstance).toBe(true);
    expect(await stateOf(clone)).toEqual(state);
    expect(entries(path.join(source, 'archives'))).toEqual(archivesBefore);
    // A restore of the file beside the source (--target, not a clone) leaves its archive directory as it was too.
    const beside = await runCli(['restore', 'from', file, '-d', source, '--target', path.join(r, 'beside')]);
    expect(beside.code, beside.stderr).toBe(0);
    expect(await stateOf(path.join(r, 'beside'))).toEqual(state);
    expect(entries(path.join(source, 'archives'))).toEqual(archivesBefore);
    const db = await createDB({ storeConfig: { dataDir: clone } });
    await db.set('CLONE', { y: 2 });
    const end = toPlainState(db.state);
    await db.close();
    expect((await runCli(['archive', 'create', '-d', clone])).code).toBe(0);
    const again = path.join(r, 'again');
    const back = await runCli(['restore', 'clone', '-d', clone, '--target', again]);
    expect(back.code, back.stderr).toBe(0);
    expect(await stateOf(again)).toEqual(end);
  });
});
