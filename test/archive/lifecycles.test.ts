/**
 * Lifecycles longer than one step: a clone (or a restore to an earlier point)
 * is a full database that archives, restores and prunes like any other; an
 * archive deleted after the fact never makes the next create skip lines
 * silently; deleting what cannot be given back takes --force.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ArchiveApi, offlineHost } from '../../src/archive/archive-api.js';
import { openRestore } from '../../src/archive/restore-api.js';
import { createDB } from '../../src/db.js';
import { decodeOperation } from '../../src/format/operation.js';
import { computePointer } from '../../src/format/pointer.js';
import { applyOperation, emptyState, toPlainState, type PlainState } from '../../src/format/state.js';
import { recover } from '../../src/store/recovery.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-lifecycle-');

async function stateOf(dir: string): Promise<PlainState> {
  return toPlainState((await recover(dir)).state);
}

/** A data directory with two archives (the second starting at line 20) and the state at the end. */
async function twoArchives(opts: { walSegmentSize?: number } = {}) {
  const r = await tmp();
  const dataDir = path.join(r, 'data');
  const db = await createDB({ storeConfig: { dataDir, ...(opts.walSegmentSize ? { walSegmentSize: opts.walSegmentSize } : {}), archive: { compression: { level: 1 } } } });
  for (let i = 0; i < 20; i++) await db.set(`A_${i}`, { i });
  const first = await db.archive.create();
  const mid = Date.now();
  await new Promise((res) => setTimeout(res, 5));
  for (let i = 0; i < 20; i++) await db.set(`B_${i}`, { i });
  const second = await db.archive.create();
  const state = toPlainState(db.state);
  await db.close();
  return { r, dataDir, first, second, mid, state };
}

describe('a clone is a full database', () => {
  it('cloned from an archive that does not start at line 0, written to and closed: bri archive create holds every restored line and the new ones, and that archive restores', async () => {
    const { r, dataDir, second, state } = await twoArchives();
    expect(second.manifest.timeRange.walLines.start).toBe(20);
    const clone = path.join(r, 'clone');
    const cloned = await runCli(['restore', 'clone', second.archiveId, '-d', dataDir, '--target', clone]);
    expect(cloned.code, cloned.stderr).toBe(0);
    const db = await createDB({ storeConfig: { dataDir: clone } });
    await db.set('CLONE_1', { mine: true });
    await db.close();
    const made = await runCli(['archive', 'create', '-d', clone, '--json']);
    expect(made.code, made.stderr).toBe(0);
    const m = JSON.parse(made.stdout).manifest;
    expect(m.timeRange.walLines).toEqual({ start: 20, end: 41 });
    expect(m.chain.prevPointer).toBe(second.manifest.chain.prevPointer);
    expect(JSON.parse(made.stdout).gap).toBeNull();
    // And again: the clone's archives chain.
    const db2 = await createDB({ storeConfig: { dataDir: clone } });
    await db2.set('CLONE_2', { mine: true });
    const cloneState = toPlainState(db2.state);
    await db2.close();
    expect(Object.keys(cloneState.documents)).toEqual(expect.arrayContaining([...Object.keys(state.documents), 'CLONE_1', 'CLONE_2']));
    const again = await runCli(['archive', 'create', '-d', clone, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).manifest.timeRange.walLines).toEqual({ start: 41, end: 42 });
    const out = path.join(r, 'out');
    const restored = await runCli(['restore', 'latest', '-d', clone, '--target', out]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await stateOf(out)).toEqual(cloneState);
    const stats = await runCli(['archive', 'stats', '-d', clone, '--json']);
    expect(JSON.parse(stats.stdout).gaps).toEqual([]);
  });

  it('in process: a clone opened with archiving archives (and prunes with a remote) without being closed first', async () => {
    const { r, dataDir, second } = await twoArchives();
    const clone = path.join(r, 'clone');
    await openRestore({ dataDir }).clone({ archiveId: second.archiveId, targetDir: clone });
    // The kept starting member is described as one, so the clone's first archive can take it as it is.
    const seeds = path.join(clone, 'archives', '.seeds');
    const factsFile = fs.readdirSync(seeds).find((n) => n.endsWith('.facts.json'))!;
    expect(JSON.parse(fs.readFileSync(path.join(seeds, factsFile), 'utf8')).member).toMatchObject({ level: 1, sha256: second.manifest.contents.snapshot.sha256 });
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const db = await createDB({ storeConfig: { dataDir: clone, archive: { keepLocal: 1, compression: { level: 1 }, remotes: [{ provider: 'local', name: 'nas', path: nas }] } } });
    try {
      const ids: string[] = [];
      for (let round = 0; round < 3; round++) {
        await db.set(`C_${round}`, { round });
        const a = await db.archive.create();
        expect(a.uploads.map((u) => u.outcome)).toEqual(['uploaded']);
        // The first starts where the restore did, at the same level: the member the restore kept (the facts
        // checked above are what let it be taken as it is; zstd at one level gives these bytes either way).
        if (round === 0) expect(a.manifest.contents.snapshot.sha256).toBe(second.manifest.contents.snapshot.sha256);
        ids.push(a.archiveId);
      }
      const list = await db.archive.list();
      expect(list.map((a) => a.manifest.timeRange.walLines)).toEqual([
        { start: 20, end: 41 },
        { start: 41, end: 42 },
        { start: 42, end: 43 },
      ]);
      // keepLocal 1: the older local copies went once the remote had them.
      expect(fs.readdirSync(path.join(clone, 'archives')).filter((n) => n.endsWith('.bri'))).toEqual([`${ids[2]}.bri`]);
      const expected = toPlainState(db.state);
      await db.close();
      const out = path.join(r, 'from-remote');
      await openRestore({ dataDir: out, config: { remotes: [{ provider: 'local', name: 'nas', path: nas }] } }).from(ids[1]!, { targetDir: out });
      expect((await stateOf(out)).documents).toHaveProperty('C_1');
      const latest = path.join(r, 'latest');
      await openRestore({ dataDir: clone, config: { remotes: [{ provider: 'local', name: 'nas', path: nas }] } }).fromLatest({ targetDir: latest });
      expect(await stateOf(latest)).toEqual(expected);
    } finally {
      if (!db.isClosed) await db.close();
    }
  });

  it('a restore in place to an earlier point is a new timeline that archives and restores', async () => {
    const { r, dataDir, mid, first } = await twoArchives();
    const back = await runCli(['restore', 'to-timestamp', String(mid), '-d', dataDir, '--force', '--clean-existing']);
    expect(back.code, back.stderr).toBe(0);
    const db = await createDB({ storeConfig: { dataDir } });
    expect(Object.keys(toPlainState(db.state).documents)).toHaveLength(20);
    await db.set('AFTER_FORK', { yes: true });
    await db.close();
    const made = await runCli(['archive', 'create', '-d', dataDir, '--json']);
    expect(made.code, made.stderr).toBe(0);
    const m = JSON.parse(made.stdout).manifest;
    expect(m.instanceId).not.toBe(first.manifest.instanceId);
    const out = path.join(r, 'out');
    expect((await runCli(['restore', 'latest', '-d', dataDir, '--target', out])).code).toBe(0);
    const s = await stateOf(out);
    expect(s.documents).toHaveProperty('AFTER_FORK');
    expect(Object.keys(s.documents)).toHaveLength(21);
  });

  it('the listing of a directory forked in place shows each instance\'s chain as one range, whatever archive of the other sorts between', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    let mid = 0;
    for (let a = 0; a < 3; a++) {
      for (let i = 0; i < 10; i++) await db.set(`P${a}_${i}`, { i });
      if (a === 1) {
        await new Promise((res) => setTimeout(res, 5));
        mid = Date.now();
        await new Promise((res) => setTimeout(res, 5));
      }
      for (let i = 0; i < 10; i++) await db.set(`Q${a}_${i}`, { i });
      await db.archive.create();
    }
    await db.close();
    const back = await runCli(['restore', 'to-timestamp', String(mid), '-q', '-d', dataDir, '--force', '--clean-existing']);
    expect(back.code, back.stderr).toBe(0);
    const fork = await createDB({ storeConfig: { dataDir } });
    await fork.set('FORK', { yes: true });
    await fork.close();
    expect((await runCli(['archive', 'create', '-q', '-d', dataDir])).code).toBe(0);
    const listing = await openRestore({ dataDir }).list();
    const byInstance = new Map<string, Array<{ firstLine: number; lastLine: number; archives: string[] }>>();
    for (const range of listing.ranges) byInstance.set(range.instanceId, [...(byInstance.get(range.instanceId) ?? []), range]);
    expect([...byInstance.values()].map((rs) => rs.length)).toEqual([1, 1]);
    const parentRange = [...byInstance.values()].find((rs) => rs[0]!.archives.length === 3)![0]!;
    expect([parentRange.firstLine, parentRange.lastLine]).toEqual([0, 60]);
  });

  it('without its starting seed (an archive directory moved), a clone still archives: from its snapshot, the state alone when nothing follows', async () => {
    const { r, dataDir, second, state } = await twoArchives();
    const clone = path.join(r, 'clone');
    await openRestore({ dataDir }).clone({ archiveId: second.archiveId, targetDir: clone });
    await fsp.rm(path.join(clone, 'archives'), { recursive: true });
    const db = await createDB({ storeConfig: { dataDir: clone } });
    await db.close(); // the snapshot is now at the WAL's end
    const made = await runCli(['archive', 'create', '-d', clone, '--json']);
    expect(made.code, made.stderr).toBe(0);
    const m = JSON.parse(made.stdout).manifest;
    expect(m.timeRange.walLines).toEqual({ start: 40, end: 40 });
    const listed = await runCli(['archive', 'list', '-d', clone]);
    expect(listed.stdout).toContain('none (the state at line 40)');
    const out = path.join(r, 'out');
    const restored = await runCli(['restore', 'latest', '-d', clone, '--target', out]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await stateOf(out)).toEqual(state);
    // The next write archives after it, chained; and the WAL before the first archive can go (it is in its starting state).
    const db2 = await createDB({ storeConfig: { dataDir: clone } });
    await db2.set('NEXT', { n: 1 });
    const cloneState = toPlainState(db2.state);
    await db2.close();
    const next = await runCli(['archive', 'create', '-d', clone, '--json']);
    expect(JSON.parse(next.stdout).manifest.timeRange.walLines).toEqual({ start: 40, end: 41 });
    const cleaned = await runCli(['archive', 'cleanup-wal', '-d', clone, '--json']);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(JSON.parse(cleaned.stdout).lines).toBeGreaterThan(0);
    expect(await stateOf(clone)).toEqual(cloneState);
  });
});

describe('the machine lost: restored from a remote, the database archives on', () => {
  it('restore latest from a remote into a new place (no archives, no seeds there), write, archive: the next archive continues the chain from the remote copy of the last one, and every moment restores', async () => {
    const r = await tmp();
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const config = path.join(r, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: nas }] }));
    const dataDir = path.join(r, 'data');
    const write = async (prefix: string, n: number) => {
      const db = await createDB({ storeConfig: { dataDir } });
      for (let i = 0; i < n; i++) await db.set(`${prefix}_${i}`, { i });
      const state = toPlainState(db.state);
      await db.close();
      return state;
    };
    await write('A', 20);
    expect((await runCli(['archive', 'create', '-q', '-d', dataDir, '-c', config])).code).toBe(0);
    await write('B', 20);
    expect((await runCli(['archive', 'create', '-q', '-d', dataDir, '-c', config])).code).toBe(0);
    // The disk is lost: only the remote is left.
    await fsp.rename(dataDir, path.join(r, 'lost'));
    const back = await runCli(['restore', 'latest', '-q', '-d', dataDir, '-c', config]);
    expect(back.code, back.stderr).toBe(0);
    const end = await write('C', 10);
    // The snapshot is at the end now (closing the database wrote one: local line 30, absolute 50): only the
    // last archive's copy on the remote gives the state at line 40, where the next archive starts.
    expect((await recover(dataDir)).snapshot?.walLine).toBe(30);
    const made = await runCli(['archive', 'create', '--json', '-d', dataDir, '-c', config]);
    expect(made.code, made.stderr).toBe(0);
    const m = JSON.parse(made.stdout).manifest;
    expect(m.timeRange.walLines).toEqual({ start: 40, end: 50 });
    expect(m.stats.documentsAtSnapshot).toBe(40);
    // Nothing downloaded for it is left behind.
    expect(fs.readdirSync(path.join(dataDir, 'archives', '.tmp'))).toEqual([]);
    const out = path.join(r, 'out');
    const restored = await runCli(['restore', 'latest', '-q', '-d', dataDir, '-c', config, '--target', out]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await stateOf(out)).toEqual(end);
    // In process too: the same database archives again with a trigger's create.
    const db = await createDB({ storeConfig: { dataDir, archive: { remotes: [{ provider: 'local', name: 'nas', path: nas }] } } });
    await db.set('D_0', { i: 0 });
    const again = await db.archive.create();
    expect(again.manifest.timeRange.walLines).toEqual({ start: 50, end: 51 });
    await db.close();
  }, 60_000);
});

describe('no silent gaps, no silent loss', () => {
  it('the newest archive deleted while wal/ holds its lines: the next create holds them again, from where the one before ended', async () => {
    const { dataDir, first, second } = await twoArchives();
    const del = await runCli(['archive', 'delete', second.archiveId, '-d', dataDir]);
    expect(del.code, del.stderr).toBe(0);
    const made = await runCli(['archive', 'create', '-d', dataDir, '--json']);
    expect(made.code, made.stderr).toBe(0);
    const out = JSON.parse(made.stdout);
    expect(out.manifest.timeRange.walLines).toEqual({ start: 20, end: 40 });
    expect(out.manifest.previousArchiveId).toBe(first.archiveId);
    expect(out.gap).toBeNull();
    // Nothing more to archive now, and the message names the archive that holds it all.
    const nothing = await runCli(['archive', 'create', '-d', dataDir]);
    expect(nothing.code, nothing.stderr).toBe(0);
    expect(nothing.stderr).toMatch(new RegExp(`nothing to archive: ${out.archiveId} already holds everything through line 40`));
  });

  it('an archive deleted after the WAL cleanup removed its lines: the next create says which lines no archive holds', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 1024, archive: { cleanupWal: true, compression: { level: 1 } } } });
    for (let i = 0; i < 30; i++) await db.set(`A_${i}`, { i, pad: 'p'.repeat(60) });
    await db.archive.create();
    for (let i = 0; i < 30; i++) await db.set(`B_${i}`, { i, pad: 'p'.repeat(60) });
    const second = await db.archive.create();
    for (let i = 0; i < 5; i++) await db.set(`C_${i}`, { i });
    const state = toPlainState(db.state);
    await db.close();
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'bri-archive.json'), 'utf8')).removedLines).toBeGreaterThan(30);
    // Its lines are gone from wal/: deleting the only copy takes --force.
    const refused = await runCli(['archive', 'delete', second.archiveId, '-d', dataDir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/only copy[\s\S]*--force/);
    expect(fs.existsSync(second.file)).toBe(true);
    expect((await runCli(['archive', 'delete', second.archiveId, '-d', dataDir, '--force'])).code).toBe(0);
    const made = await runCli(['archive', 'create', '-d', dataDir, '--json']);
    expect(made.code, made.stderr).toBe(0);
    const out = JSON.parse(made.stdout);
    expect(out.gap.fromLine).toBe(31);
    expect(out.gap.toLine).toBe(out.manifest.timeRange.walLines.start);
    // Under --json the gap is in the document (stderr holds only JSON); the text says it as a warning.
    expect(made.stderr).not.toMatch(/WARNING/);
    const stats = JSON.parse((await runCli(['archive', 'stats', '-d', dataDir, '--json'])).stdout);
    expect(stats.gaps).toHaveLength(1);
    // One meaning of fromLine/toLine everywhere: the first and last missing line, as create says them.
    expect(stats.gaps[0]).toMatchObject({ fromLine: out.gap.fromLine, toLine: out.gap.toLine });
    expect(stats.firstLine).toBe(1);
    // What is left restores to the whole state.
    const target = path.join(r, 'out');
    expect((await runCli(['restore', 'latest', '-d', dataDir, '--target', target])).code).toBe(0);
    expect(await stateOf(target)).toEqual(state);
  });

  it('a permanent archive is deleted only with --force', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('K', { v: 1 });
    const a = await db.archive.create({ retention: 'permanent', level: 1 });
    await db.close();
    const refused = await runCli(['archive', 'delete', a.archiveId, '-d', dataDir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/is permanent[\s\S]*--force/);
    expect(fs.existsSync(a.file)).toBe(true);
    const forced = await runCli(['archive', 'delete', a.archiveId, '-d', dataDir, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(fs.existsSync(a.file)).toBe(false);
  });

  it('the data directory put back from an older copy (its WAL shorter than its archives) is refused, not "nothing to archive"', async () => {
    const { r, dataDir } = await twoArchives();
    const older = path.join(r, 'older');
    const db = await createDB({ storeConfig: { dataDir: older } });
    for (let i = 0; i < 5; i++) await db.set(`X_${i}`, { i });
    await db.close();
    // The archives' bookkeeping of the newer directory, with the older WAL.
    await fsp.copyFile(path.join(dataDir, 'bri-archive.json'), path.join(older, 'bri-archive.json'));
    const archives = () => fs.readdirSync(path.join(dataDir, 'archives')).filter((n) => n.endsWith('.bri')).sort();
    const before = archives();
    const made = await runCli(['archive', 'create', '-d', older, '-a', path.join(dataDir, 'archives')]);
    expect(made.code).toBe(23);
    expect(made.stderr).toMatch(/WAL ends at line 5, before the end of its archive/);
    expect(archives()).toEqual(before);
  });
});

describe('a data directory put back from an older copy and written to since', () => {
  it('its WAL past the archives\' end but another history: refused as a new timeline (not "repair the data directory"), and it archives as a new instance once bri-archive.json is moved aside', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const write = async (prefix: string, n: number) => {
      const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 800, archive: { compression: { level: 1 } } } });
      for (let i = 0; i < n; i++) await db.set(`K_${i % 7}`, { prefix, i });
      await db.close();
    };
    await write('a', 20);
    expect((await runCli(['archive', 'create', '-d', dataDir])).code).toBe(0);
    const older = path.join(r, 'older');
    await fsp.cp(dataDir, older, { recursive: true });
    await write('b', 20);
    expect((await runCli(['archive', 'create', '-d', dataDir])).code).toBe(0);
    // The older copy's WAL and snapshot back in place (the archives' bookkeeping stays), then more writes than the archives hold.
    for (const n of ['wal', 'snapshot.jss']) {
      await fsp.rm(path.join(dataDir, n), { recursive: true, force: true });
      await fsp.cp(path.join(older, n), path.join(dataDir, n), { recursive: true });
    }
    await write('c', 30);
    const archives = () => fs.readdirSync(path.join(dataDir, 'archives')).filter((n) => n.endsWith('.bri')).sort();
    const before = archives();
    const made = await runCli(['archive', 'create', '-d', dataDir]);
    expect(made.code).toBe(23);
    expect(made.stderr).toMatch(/line 40 is not the line its archive \S+ ends with[\s\S]*hint: It was put back from an older copy/);
    expect(made.stderr).not.toMatch(/pointer mismatch|repair the data directory/);
    expect(archives()).toEqual(before);
    // What the hint says works: a new instance, whose archive restores to the directory's own state.
    const expected = toPlainState((await recover(dataDir)).state);
    await fsp.rename(path.join(dataDir, 'bri-archive.json'), path.join(r, 'bri-archive.json.old'));
    const again = await runCli(['archive', 'create', '-d', dataDir]);
    expect(again.code, again.stderr).toBe(0);
    const target = path.join(r, 'restored');
    const restored = await runCli(['restore', 'latest', '-d', dataDir, '--target', target]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(toPlainState((await recover(target)).state)).toEqual(expected);
  });
});

describe('segments removed from wal/ under a snapshot that covers them', () => {
  // The directory is damaged, not an older copy of itself: create says so as the store's own open
  // does (WAL_CORRUPTED), never "a new timeline" nor "set BRI_ENCRYPTION_KEY", and writes nothing.
  const refused = async (dataDir: string, archiveDir = path.join(dataDir, 'archives')) => {
    const list = () => (fs.existsSync(archiveDir) ? fs.readdirSync(archiveDir).filter((n) => n.endsWith('.bri')).sort() : []);
    const before = list();
    const wal = () => (fs.existsSync(path.join(dataDir, 'wal')) ? fs.readdirSync(path.join(dataDir, 'wal')).sort() : []);
    const walBefore = wal();
    const res = await runCli(['archive', 'create', '-d', dataDir]);
    expect(res.code, res.stderr).toBe(13);
    expect(res.stderr).toMatch(/WAL_CORRUPTED[\s\S]*snapshot\.jss says walLine \d+ but the WAL holds only \d+ lines[\s\S]*hint: The data directory is damaged/);
    expect(res.stderr).not.toMatch(/BRI_ENCRYPTION_KEY|new timeline/);
    expect(list()).toEqual(before);
    expect(wal()).toEqual(walBefore);
    await expect(createDB({ storeConfig: { dataDir } })).rejects.toMatchObject({ code: 'WAL_CORRUPTED' });
  };

  it('every segment gone after two archives', async () => {
    const { dataDir } = await twoArchives();
    for (const f of await fsp.readdir(path.join(dataDir, 'wal'))) await fsp.rm(path.join(dataDir, 'wal', f));
    await refused(dataDir);
  });

  it('wal/ gone from a database never archived', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    for (let i = 0; i < 10; i++) await db.set(`A_${i}`, { i });
    await db.close();
    await fsp.rm(path.join(dataDir, 'wal'), { recursive: true });
    await refused(dataDir);
  });

  it('the newest segments gone, past the last archive', async () => {
    const { dataDir } = await twoArchives({ walSegmentSize: 600 });
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 600 } });
    for (let i = 0; i < 30; i++) await db.set(`C_${i}`, { i });
    await db.close();
    const segments = (await fsp.readdir(path.join(dataDir, 'wal'))).sort();
    for (const f of segments.slice(-2)) await fsp.rm(path.join(dataDir, 'wal', f));
    await refused(dataDir);
  });
});

describe('a clock stepped back (NTP, a resumed VM)', () => {
  it('the lines after it keep the WAL\'s order of times, the archive is sealed after its last line, and a restore to that line\'s time holds every line', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    let db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 10; i++) await db.set(`A_${i}`, { i });
    await db.close();
    // The lines so far, as a clock an hour ahead stamped them; the clock is then set right.
    const ahead = Date.now() + 3_600_000;
    const walDir = path.join(dataDir, 'wal');
    for (const f of await fsp.readdir(walDir)) {
      const file = path.join(walDir, f);
      const text = await fsp.readFile(file, 'utf8');
      await fsp.writeFile(file, text.replace(/^\d+\|/gm, `${ahead}|`));
    }
    db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 10; i++) await db.set(`B_${i}`, { i });
    const archive = await db.archive.create();
    const state = toPlainState(db.state);
    await db.close();
    const m = archive.manifest;
    expect(m.timeRange.end.getTime()).toBeGreaterThanOrEqual(ahead);
    expect(m.timeRange.sealedAt.getTime()).toBeGreaterThanOrEqual(m.timeRange.end.getTime());
    const out = path.join(r, 'restored');
    await openRestore({ dataDir }).toTimestamp(m.timeRange.end.getTime(), { targetDir: out });
    expect(await stateOf(out)).toEqual(state);
  });
});

describe('a clock stepped back past an archive\'s seal, then a reopen', () => {
  it('the new lines are stamped after the seal (the archive vouches for every moment up to it), so a restore to a moment inside its range never leaves a line out', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    let db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 5; i++) await db.set(`A_${i}`, { i });
    // Sealed by a clock an hour ahead; the clock is then set right and the database reopened.
    const real = Date.now.bind(Date);
    const ahead = vi.spyOn(Date, 'now').mockImplementation(() => real() + 3_600_000);
    const archive = await db.archive.create().finally(() => ahead.mockRestore());
    await db.close();
    const sealedAt = archive.manifest.timeRange.sealedAt.getTime();
    expect(sealedAt).toBeGreaterThan(Date.now() + 3_000_000);
    db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.set('LATE', { v: 1 });
    await db.close();
    let late = '';
    for (const f of await fsp.readdir(path.join(dataDir, 'wal'))) late ||= (await fsp.readFile(path.join(dataDir, 'wal', f), 'utf8')).split('\n').find((l) => l.includes('LATE')) ?? '';
    expect(Number(late.split('|')[0])).toBeGreaterThan(sealedAt);
    // A moment between now and the seal is the archive's state: the late line is after it.
    const out = path.join(r, 'restored');
    await openRestore({ dataDir }).toTimestamp(Date.now() + 60_000, { targetDir: out });
    expect(Object.keys((await stateOf(out)).documents)).not.toContain('LATE');
  });
});

describe('two directories archiving one instance to a shared remote', () => {
  it('the old machine back after a recovery is refused before it adds a branch there (the new one goes on); moved aside as a new instance, it archives', async () => {
    const r = await tmp();
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const archive = { remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], compression: { level: 1 } };
    const oldDir = path.join(r, 'old');
    let db = await createDB({ storeConfig: { dataDir: oldDir, archive } });
    for (let i = 0; i < 5; i++) await db.set(`A_${i}`, { i });
    await db.archive.create();
    await db.close();
    // The new machine: restored from the remote alone, it goes on with the instance.
    const newDir = path.join(r, 'new');
    await openRestore({ dataDir: newDir, config: { remotes: archive.remotes } }).fromLatest();
    db = await createDB({ storeConfig: { dataDir: newDir, archive } });
    await db.set('B', { v: 1 });
    const b = await db.archive.create();
    await db.close();
    // The old machine comes back and writes: its archive would fork the chain on the remote.
    db = await createDB({ storeConfig: { dataDir: oldDir, archive } });
    await db.set('OLD', { v: 1 });
    // The way out offered first keeps its lines; the restore that drops them says so.
    await expect(db.archive.create()).rejects.toMatchObject({
      code: 'ARCHIVE_ERROR',
      message: expect.stringContaining(`nas holds ${b.archiveId}`),
      hint: expect.stringMatching(/^.*To keep this directory's lines, archive it as a new instance.*Only if its lines since its newest archive are to be dropped/),
    });
    await db.close();
    const onNas = () => fs.readdirSync(path.join(nas, 'archives')).filter((n) => n.endsWith('.bri')).sort();
    expect(onNas()).toHaveLength(2);
    // The new machine is not held up by the old one's refusal.
    db = await createDB({ storeConfig: { dataDir: newDir, archive } });
    await db.set('B2', { v: 2 });
    await db.archive.create();
    await db.close();
    // What the hint says works: the old directory as a new instance.
    await fsp.rename(path.join(oldDir, 'bri-archive.json'), path.join(r, 'old-bri-archive.json'));
    const made = await runCli(['archive', 'create', '-d', oldDir, '-a', path.join(oldDir, 'archives')]);
    expect(made.code, made.stderr).toBe(0);
  });
});

describe('a directory encrypted at rest, archived once without its key', () => {
  it('that archive verifies whole with the key (its snapshot member\'s version is the seed\'s), and restores', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const key = 'a'.repeat(64);
    const write = async (k: string) => {
      const db = await createDB({ storeConfig: { dataDir, encryptionKey: key } });
      await db.set(k, { v: 1 });
      await db.close();
    };
    await write('K1');
    expect((await runCli(['archive', 'create', '-d', dataDir], { BRI_ENCRYPTION_KEY: key })).code).toBe(0);
    await write('K2');
    const blind = await runCli(['archive', 'create', '-d', dataDir], { BRI_ENCRYPTION_KEY: '' });
    expect(blind.code, blind.stderr).toBe(0);
    const verified = await runCli(['archive', 'verify', '--all', '-d', dataDir], { BRI_ENCRYPTION_KEY: key });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    const target = path.join(r, 'restored');
    expect((await runCli(['restore', 'latest', '-d', dataDir, '--target', target], { BRI_ENCRYPTION_KEY: key })).code).toBe(0);
  });
});

describe('entries in every spelling BRI reads (the replays keep documents as their JSON literals)', () => {
  it('a WAL written with \\u escapes, \\/, spaces, another key order, transactions and escaped keys archives twice (the second from the first one\'s seed) and restores to the state BRI replays', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    await fsp.mkdir(path.join(dataDir, 'wal'), { recursive: true });
    const spellings = (i: number): string[] => [
      `{"action":"SET","target":"K_${i}","value":"{\\"n\\":${i},\\"s\\":\\"\\u0041\\/b\\"}"}`,
      `{ "action": "SET", "target": "K_${i + 1}", "value": "{\\"n\\":${i}}" }`,
      `{"value":"{\\"r\\":${i}}","target":"K_${i + 2}","action":"SET"}`,
      `{"action":"SET","target":"K\\"q_${i}","value":"\\ud83d\\ude00 ${i}"}`,
      `{"action":"SET","target":"K_${i + 3}","value":"{\\"t\\":${i}}","txn":{"txnId":"t${i}","actions":[{"action":"SET","target":"K_${i + 3}","ts":1}]}}`,
      `{"action":"RENAME","target":"K_\\u0052${i}","oldKey":"K_${i + 1}"}`,
      `{"action":"SADD","target":"S?","member":"m\\u00e9${i}"}`,
      `{"action":"DELETE","target":"K_${i + 2}"}`,
    ];
    let prev = '';
    let ts = Date.now() - 60_000;
    const expected = emptyState();
    const write = async (from: number, to: number) => {
      const lines: string[] = [];
      for (let i = from; i < to; i++) {
        for (const entry of spellings(i)) {
          prev = computePointer(prev, entry);
          lines.push(`${ts++}|${prev}|${entry}\n`);
          applyOperation(expected, decodeOperation(entry));
        }
      }
      await fsp.appendFile(path.join(dataDir, 'wal', '000000.wal'), lines.join(''));
    };
    const api = new ArchiveApi(offlineHost(dataDir, undefined), { compression: { level: 1 } });
    await write(0, 10);
    await api.create();
    await write(10, 20);
    const second = await api.create();
    expect(second.manifest.timeRange.walLines.start, 'the second archive starts from the first one\'s seed').toBe(80);
    const out = path.join(r, 'restored');
    const result = await openRestore({ dataDir }).fromLatest({ targetDir: out });
    expect(result.documents).toBe(expected.documents.size);
    const opened = await recover(out);
    expect(opened.replayed, 'the first open replays nothing').toBe(0);
    expect(opened.snapshot?.version).toBe(1);
    expect(toPlainState(opened.state)).toEqual(toPlainState(expected));
    // And the first archive alone (its end state replayed by the restore, from line 0).
    const mid = path.join(r, 'mid');
    await openRestore({ dataDir }).toTimestamp(second.manifest.timeRange.start.getTime(), { targetDir: mid });
    expect(Object.keys(toPlainState((await recover(mid)).state).documents).length).toBeGreaterThan(0);
  });
});
