/**
 * Growth triggers (walEntries, walSegments) on a real database count what was
 * written after the last archive's seal, whatever made that archive: a create
 * by hand included, a snapshot's rotation not, the lines a run archives not
 * again. A growth-triggered run that failed is tried again once the holdoff has
 * passed, although nothing more is written.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB, type BriDB } from '../../../src/db.js';
import { FakeClock } from '../../support/fake-clock.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('bri-growth-seal-');
const dataDir = async () => path.join(await tempDir(), 'data');
const settle = async (db: BriDB) => {
  await new Promise((r) => setTimeout(r, 80));
  await db.archive.idle();
};

type Finished = { reason: string; manifest: { timeRange: { walLines: { start: number; end: number } } } };
const nextFinished = (db: BriDB) => new Promise<Finished>((resolve) => db.archive.once('finished', (r) => resolve(r as unknown as Finished)));

async function writeLines(db: BriDB, prefix: string, n: number, pad = 0): Promise<void> {
  for (let i = 0; i < n; i++) await db.set(`${prefix}_${i}`, { i, pad: 'x'.repeat(pad) });
}

describe('growth triggers count from the last archive made, by hand or not', () => {
  it('walEntries after a create by hand: a few lines more make no archive, walEntries more do', async () => {
    const db = await createDB({ storeConfig: { dataDir: await dataDir(), snapshotOnClose: false, archive: { triggers: { walEntries: 50 }, compression: { level: 1 } } } });
    try {
      await writeLines(db, 'A', 45);
      await db.archive.create();
      await writeLines(db, 'B', 5);
      await settle(db);
      expect(await db.archive.list()).toHaveLength(1);
      const finished = nextFinished(db);
      await writeLines(db, 'C', 45);
      const r = await finished;
      expect(r.reason).toBe('walEntries');
      expect(r.manifest.timeRange.walLines).toEqual({ start: 45, end: 95 });
    } finally {
      await db.close();
    }
  });

  it('walSegments: neither the rotation of a create by hand nor a snapshot right after an archive makes one line an archive', async () => {
    const db = await createDB({ storeConfig: { dataDir: await dataDir(), snapshotOnClose: false, walSegmentSize: 4096, archive: { triggers: { walSegments: 1 }, compression: { level: 1 } } } });
    try {
      await writeLines(db, 'A', 10);
      await db.archive.create();
      await db.set('X', { x: 1 });
      await settle(db);
      expect(await db.archive.list()).toHaveLength(1);
      await db.archive.create();
      await db.createSnapshot();
      await db.set('Y', { y: 1 });
      await settle(db);
      expect(await db.archive.list()).toHaveLength(2);
      // A segment filled by writes still archives.
      const finished = nextFinished(db);
      const start = db.info().segment;
      let i = 0;
      while (db.info().segment <= start) await db.set(`G_${i++}`, { pad: 'y'.repeat(300) });
      expect((await finished).reason).toBe('walSegments');
    } finally {
      await db.close();
    }
  });

  it('lines written while a run waits before its seal are archived by it and not counted again', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let runs = 0;
    const db = await createDB({
      storeConfig: { dataDir: await dataDir(), snapshotOnClose: false, archive: { triggers: { walEntries: 20 }, compression: { level: 1 }, hooks: { beforeArchive: async () => void (runs++ === 0 && (await gate)) } } },
    });
    try {
      const first = nextFinished(db);
      await writeLines(db, 'A', 20);
      await writeLines(db, 'B', 15); // the run waits in beforeArchive meanwhile
      release();
      expect((await first).manifest.timeRange.walLines).toEqual({ start: 0, end: 35 });
      await writeLines(db, 'C', 5);
      await settle(db);
      expect(await db.archive.list()).toHaveLength(1);
      const second = nextFinished(db);
      await writeLines(db, 'D', 15);
      expect((await second).manifest.timeRange.walLines).toEqual({ start: 35, end: 55 });
    } finally {
      await db.close();
    }
  });
});

describe('a failed growth-triggered run is tried again after the holdoff', () => {
  it('tried again once the holdoff has passed with nothing more written, and again after each failure', async () => {
    const clock = new FakeClock(Date.now());
    let failures = 2;
    const db = await createDB({
      storeConfig: {
        dataDir: await dataDir(),
        snapshotOnClose: false,
        archive: { triggers: { walEntries: 20 }, compression: { level: 1 }, hooks: { beforeArchive: () => void (failures-- > 0 && (() => { throw new Error('notifier down'); })()) } },
      },
      scheduler: { clock, retryHoldoffMs: 5000 },
    });
    const events: string[] = [];
    for (const e of ['started', 'finished', 'failed'] as const) db.archive.on(e, () => events.push(e));
    try {
      await writeLines(db, 'A', 20);
      await settle(db);
      expect(events).toEqual(['started', 'failed']);
      clock.advance(4999);
      await settle(db);
      expect(events).toEqual(['started', 'failed']);
      clock.advance(1);
      await settle(db);
      expect(events).toEqual(['started', 'failed', 'started', 'failed']);
      const finished = nextFinished(db);
      clock.advance(5000);
      expect((await finished).manifest.timeRange.walLines).toEqual({ start: 0, end: 20 });
      expect(clock.pending).toBe(0);
    } finally {
      await db.close();
    }
  });

  it('close() clears a retry that waits for the holdoff', async () => {
    const clock = new FakeClock(Date.now());
    const db = await createDB({
      storeConfig: { dataDir: await dataDir(), snapshotOnClose: false, archive: { triggers: { walEntries: 5 }, compression: { level: 1 }, hooks: { beforeArchive: () => { throw new Error('notifier down'); } } } },
      scheduler: { clock, retryHoldoffMs: 5000 },
    });
    await writeLines(db, 'A', 5);
    await settle(db);
    expect(clock.pending).toBe(1);
    await db.close();
    expect(clock.pending).toBe(0);
  });
});
