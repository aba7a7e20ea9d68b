/**
 * WAL cleanup: a segment leaves wal/ only when every line in it is in an
 * archive that is durable locally and confirmed on every remote; walLine in
 * snapshot.jss and removedLines move by the lines removed, and the database
 * keeps working (reads, writes, snapshots, recovery, archives, restore).
 * The journal makes a cleanup interrupted at any step either finished or
 * undone on the next open.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { offlineRemover } from '../../../src/store/offline.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB, type BriDB } from '../../../src/db.js';
import { toPlainState, type PlainState } from '../../../src/format/state.js';
import { listSegments } from '../../../src/store/layout.js';
import { recover } from '../../../src/store/recovery.js';
import { readSnapshot } from '../../../src/store/snapshot-store.js';
import { CLEANUP_JOURNAL, completeWalCleanup } from '../../../src/store/wal/wal-cleanup.js';
import { verifyDataDir } from '../../../src/store/verify-data-dir.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const root = useTempDirs('bri-cleanup-');

const SEG = 2048;
const open = (dataDir: string, archive: Record<string, unknown> = { cleanupWal: true, compression: { level: 1 } }) =>
  createDB({ storeConfig: { dataDir, walSegmentSize: SEG, snapshotOnClose: false, archive } });

async function writeSome(db: BriDB, tag: string, n: number, stamps: Array<{ t: number; state: PlainState }>): Promise<void> {
  for (let i = 0; i < n; i++) {
    await db.set(`${tag}_${i}`, { i, pad: 'p'.repeat(i % 50) });
    if (i % 7 === 0) await db.sAdd('TAGS', `${tag}${i}`);
    if (i % 11 === 5) await db.delete(`${tag}_${i - 3}`);
    if (i % 25 === 0) {
      // The state at T holds every line stamped <= T: the next write must come a millisecond later.
      const t = Date.now();
      stamps.push({ t, state: toPlainState(db.state) });
      while (Date.now() <= t) await new Promise((r) => setTimeout(r, 1));
    }
  }
}

const walNames = async (dir: string) => (await listSegments(dir)).map((s) => s.name);

describe('WAL cleanup in a running database', () => {
  it('removes archived segments, lowers walLine and raises removedLines, and everything keeps working', async () => {
    const dir = path.join(await root(), 'data');
    const stamps: Array<{ t: number; state: PlainState }> = [];
    let db = await open(dir);
    await writeSome(db, 'A', 120, stamps);
    const linesBefore = db.info().totalLines;
    const segsBefore = await walNames(dir);
    expect(segsBefore.length).toBeGreaterThan(3);
    const first = await db.archive.create();
    const c1 = first.cleanup!;
    if ('error' in c1) throw c1.error;
    expect(c1.safeLine).toBe(linesBefore);
    expect(c1.segments).toEqual(segsBefore.slice(0, c1.segments.length));
    expect(c1.segments.length).toBeGreaterThanOrEqual(segsBefore.length - 1);
    expect(await walNames(dir)).not.toContain(segsBefore[0]);
    // Numbering: the lines on disk are numbered from the first segment left.
    expect(db.info().totalLines).toBe(linesBefore - c1.lines);
    expect((await readSnapshot(dir))!.walLine).toBe(linesBefore - c1.lines);
    expect((await readArchiveState(dir))!.removedLines).toBe(c1.lines);
    expect(fs.existsSync(path.join(dir, CLEANUP_JOURNAL))).toBe(false);

    // Writes, reads, snapshots and a second archive that chains on.
    await writeSome(db, 'B', 80, stamps);
    await db.createSnapshot();
    await writeSome(db, 'C', 40, stamps);
    const second = await db.archive.create();
    expect(second.manifest.timeRange.walLines.start).toBe(first.manifest.timeRange.walLines.end);
    expect(second.manifest.chain.prevPointer).toBe(first.manifest.chain.lastPointer);
    expect((await db.archive.stats()).gaps).toEqual([]);
    await writeSome(db, 'D', 30, stamps);
    const expected = toPlainState(db.state);
    await db.close();

    // Recovery opens to the same state; the data directory verifies.
    db = await open(dir);
    expect(toPlainState(db.state)).toEqual(expected);
    await db.close();
    expect((await verifyDataDir(dir)).ok).toBe(true);
    const v = await runCli(['data', 'verify', '-d', dir]);
    expect(v.code, v.stderr).toBe(0);

    // Every instant the archives cover still restores to what the writes gave at that time.
    const last = (await openRestore({ dataDir: dir }).list()).archives.at(-1)!.manifest.timeRange.sealedAt.getTime();
    for (const s of stamps.filter((x) => x.t <= last).filter((_, i) => i % 3 === 0)) {
      const target = path.join(path.dirname(dir), `pitr-${s.t}`);
      await openRestore({ dataDir: dir }).toTimestamp(s.t, { targetDir: target });
      expect(toPlainState((await recover(target)).state)).toEqual(s.state);
    }
  });

  it('keeps every segment while a remote has not confirmed the archive, and removes them once it has', async () => {
    const r = await root();
    const dir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    const archive = { cleanupWal: true, compression: { level: 1 }, remotes: [{ provider: 'local', name: 'nas', path: nas }] };
    const db = await open(dir, archive);
    try {
      await writeSome(db, 'A', 100, []);
      const segs = await walNames(dir);
      // The remote's directory does not exist yet: the upload fails, nothing may leave wal/.
      const first = await db.archive.create();
      expect(first.uploads.map((u) => u.outcome)).toEqual(['failed']);
      expect(first.cleanup).toMatchObject({ segments: [], safeLine: 0 });
      // What stops it names the remote.
      expect((first.cleanup as { stoppedBy?: { message: string } }).stoppedBy?.message).toMatch(/no copy on nas is confirmed/);
      expect(await db.archive.notStoredEverywhere(first.archiveId)).toMatch(/no copy on nas is confirmed/);
      expect(await walNames(dir)).toEqual([...segs, ...(await walNames(dir)).slice(segs.length)]);
      expect(await db.archive.isStoredEverywhere(first.archiveId)).toBe(false);
      await fsp.mkdir(nas);
      await db.archive.upload();
      expect(await db.archive.notStoredEverywhere(first.archiveId)).toBeNull();
      const c = await db.archive.cleanupWal();
      expect(c.safeLine).toBe(first.manifest.timeRange.walLines.end);
      expect(c.segments.length).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  });

  it('a local remote that is gone (unmounted) stops the cleanup with "nas did not answer", not a REMOTE_NOT_FOUND about an older archive; notStoredEverywhere answers it', async () => {
    const r = await root();
    const dir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const db = await open(dir, { cleanupWal: true, compression: { level: 1 }, remotes: [{ provider: 'local', name: 'nas', path: nas }] });
    try {
      await writeSome(db, 'A', 50, []);
      const first = await db.archive.create();
      await fsp.rename(nas, `${nas}.away`);
      await writeSome(db, 'B', 50, []);
      const second = await db.archive.create();
      expect(second.cleanup).not.toHaveProperty('error');
      expect((second.cleanup as { stoppedBy?: { message: string } }).stoppedBy?.message).toMatch(/nas did not answer/);
      expect(await db.archive.notStoredEverywhere(first.archiveId)).toMatch(/nas did not answer/);
      expect(await db.archive.isStoredEverywhere(first.archiveId)).toBe(false);
    } finally {
      await db.close();
    }
  });

  it('a run with nothing new to archive still uploads what failed before, and cleans up after it', async () => {
    const r = await root();
    const dir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    const db = await open(dir, { cleanupWal: true, compression: { level: 1 }, remotes: [{ provider: 'local', name: 'nas', path: nas }] });
    try {
      await writeSome(db, 'A', 100, []);
      const first = await db.archive.create();
      expect(first.uploads.map((u) => u.outcome)).toEqual(['failed']);
      await fsp.mkdir(nas);
      const uploads: string[] = [];
      await expect(db.archive.create({ onUpload: (e) => e.kind === 'upload-done' && uploads.push(e.status.outcome) })).rejects.toMatchObject({ code: 'NOTHING_TO_ARCHIVE' });
      expect(uploads).toEqual(['uploaded']);
      expect(await db.archive.isStoredEverywhere(first.archiveId)).toBe(true);
      expect((await readArchiveState(dir))!.removedLines).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  });

  it('bri archive create on a stopped database cleans up too, and the database reopens to its state', async () => {
    const r = await root();
    const dir = path.join(r, 'data');
    let db = await open(dir, {});
    await writeSome(db, 'A', 100, []);
    const expected = toPlainState(db.state);
    await db.close();
    const cfg = path.join(r, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ cleanupWal: true }));
    const res = await runCli(['archive', 'create', '-d', dir, '--config', cfg, '--level', '1']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/wal cleanup {2}\d+ segments removed/);
    expect((await readArchiveState(dir))!.removedLines).toBeGreaterThan(0);
    db = await open(dir, {});
    expect(toPlainState(db.state)).toEqual(expected);
    await db.set('AFTER', { ok: true });
    await db.close();
    db = await open(dir, {});
    expect(db.get('AFTER')).toEqual({ ok: true });
    await db.close();
  });
});

describe('a cleanup interrupted at each step', () => {
  for (const stopAt of ['journal-written', 'snapshot-committed', 'offset-raised', 'segment-removed'] as const) {
    it(`stopped after ${stopAt}: the next open finishes or undoes it, and the state is whole`, async () => {
      const dir = path.join(await root(), 'data');
      let db = await open(dir, { compression: { level: 1 } });
      await writeSome(db, 'A', 100, []);
      await db.archive.create();
      await writeSome(db, 'B', 20, []);
      const expected = toPlainState(db.state);
      await db.close();
      const state = (await readArchiveState(dir))!;
      const segs = await walNames(dir);
      const absoluteLines = (await recover(dir)).totalLines + state.removedLines;
      const remove = offlineRemover(dir, undefined);
      await expect(
        remove(100, state.removedLines, (step) => {
          if (step === stopAt) throw new Error(`crash after ${step}`);
        }),
      ).rejects.toThrow(`crash after ${stopAt}`);
      expect(fs.existsSync(path.join(dir, CLEANUP_JOURNAL))).toBe(true);
      // A reader without the lock already sees the right state.
      expect(toPlainState((await recover(dir)).state)).toEqual(expected);
      db = await open(dir, { compression: { level: 1 } });
      expect(toPlainState(db.state)).toEqual(expected);
      expect(fs.existsSync(path.join(dir, CLEANUP_JOURNAL))).toBe(false);
      const after = (await readArchiveState(dir))!;
      if (stopAt === 'journal-written') {
        expect(await walNames(dir)).toEqual(segs);
        expect(after.removedLines).toBe(state.removedLines);
      } else {
        expect((await walNames(dir)).length).toBeLessThan(segs.length);
        expect(after.removedLines).toBeGreaterThan(state.removedLines);
      }
      expect(db.info().totalLines + after.removedLines).toBe(absoluteLines);
      // And archiving goes on from where it was.
      await db.set('C', { c: 1 });
      const next = await db.archive.create();
      expect(next.manifest.timeRange.walLines.end).toBe(db.info().totalLines + (await readArchiveState(dir))!.removedLines);
      await db.close();
      expect(await completeWalCleanup(dir)).toBe('none');
    });
  }
});
