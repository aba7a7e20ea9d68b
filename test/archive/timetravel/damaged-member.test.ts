/**
 * A damaged WAL member under time travel. The member's stored bytes are checked (on the decoder
 * thread, before a line is decoded). A damaged copy is then handled as a restore handles it: repaired
 * from its PAR2 data into a scratch file, or passed over for another source, and the question is
 * answered in full (history, read, diff alike), the caller told, the copy itself left as it is. Only
 * when no good copy exists is the answer ARCHIVE_CORRUPTED, naming the member and the sources tried.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB, type BriDB } from '../../../src/db.js';
import type { SourceProblem } from '../../../src/archive/copies/fetch.js';
import { damageWalMember } from '../../support/damage-member.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-damage-');

/** Writes 500 operations (a moment in the middle), archives them: the archive's id, its local file and the moment. */
async function archived(db: BriDB): Promise<{ id: string; file: string; mid: number }> {
  for (let i = 0; i < 400; i++) await db.set(`K${i % 40}`, { i, pad: 'x'.repeat(60) });
  const mid = Date.now();
  await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < 100; i++) await db.set(`K${i % 40}`, { i: 1000 + i });
  const info = await db.archive.create();
  const local = (await db.archive.get(info.archiveId)).copies.find((c) => c.source === 'local')!;
  return { id: info.archiveId, file: local.file ?? local.location, mid };
}

/** Damages `bytes` bytes in the middle of the third WAL member of the copy `file`; the member's name. */
async function damage(db: BriDB, id: string, file: string, bytes: number): Promise<string> {
  return damageWalMember(file, (await db.archive.get(id)).manifest, bytes);
}

/** The three questions, and what each told about sources. */
async function ask(db: BriDB, mid: number, end: number) {
  const told: SourceProblem[] = [];
  const o = { onSourceProblem: (p: SourceProblem) => told.push(p) };
  return {
    history: await db.restore.history('K7', o),
    read: await db.restore.read('K7', { ...o, at: end }),
    diff: await db.restore.diff({ ...o, at: mid }),
    told,
  };
}

const withoutRead = <T extends { read: unknown }>(a: T): Omit<T, 'read'> => {
  const { read: _read, ...rest } = a;
  return rest;
};

describe('time travel over a damaged member', () => {
  it('answers from a copy repaired from its PAR2 data, says so, and leaves the copy as it is', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } }, walSegmentSize: 4096 } });
    try {
      const { id, file, mid } = await archived(db);
      const end = (await db.archive.get(id)).manifest.timeRange.end.getTime();
      const before = await ask(db, mid, end);
      expect(before.history.entries.length).toBe(13);
      expect(before.told).toEqual([]);

      const member = await damage(db, id, file, 1);
      const damagedBytes = await fsp.readFile(file);
      const filesBefore = await fsp.readdir(path.dirname(file), { recursive: true });
      const after = await ask(db, mid, end);
      expect(withoutRead(after.history)).toEqual(withoutRead(before.history));
      expect(withoutRead(after.read)).toEqual(withoutRead(before.read));
      expect(withoutRead(after.diff)).toEqual(withoutRead(before.diff));
      // Each question said which copy was repaired for it, naming the damaged member.
      expect(after.told).toHaveLength(3);
      for (const p of after.told) expect(p).toMatchObject({ source: 'local', reason: expect.stringContaining(member) as unknown });
      expect(after.told[0]!.reason).toMatch(/repaired from its PAR2 data/);
      // The copy is as it was (a query does not write the archive), and no scratch file is left beside it.
      expect((await fsp.readFile(file)).equals(damagedBytes)).toBe(true);
      expect((await fsp.readdir(path.dirname(file), { recursive: true })).sort()).toEqual(filesBefore.sort());

      await db.archive.repair(id, { inPlace: true });
      const repaired = await ask(db, mid, end);
      expect(repaired.history).toEqual(before.history);
      expect(repaired.told).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('passes over a copy damaged beyond repair for the copy on another source', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const nas = path.join(root, 'nas');
    await fsp.mkdir(nas);
    const db = await createDB({
      storeConfig: { dataDir, walSegmentSize: 4096, archive: { compression: { level: 1 }, errorCorrection: { enabled: false }, remotes: [{ provider: 'local', name: 'nas', path: nas }] } },
    });
    try {
      const { id, file, mid } = await archived(db);
      const end = (await db.archive.get(id)).manifest.timeRange.end.getTime();
      const before = await ask(db, mid, end);
      await damage(db, id, file, 64);
      const after = await ask(db, mid, end);
      expect(withoutRead(after.history)).toEqual(withoutRead(before.history));
      expect(withoutRead(after.read)).toEqual(withoutRead(before.read));
      expect(withoutRead(after.diff)).toEqual(withoutRead(before.diff));
      expect(after.told.map((p) => p.source)).toEqual(['local', 'local', 'local']);
      expect(after.told[0]!.reason).toMatch(/damaged/);
    } finally {
      await db.close();
    }
  });

  it('is ARCHIVE_CORRUPTED naming the member and the sources tried when no copy is good', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 4096, archive: { compression: { level: 1 }, errorCorrection: { enabled: false } } } });
    try {
      const { id, file, mid } = await archived(db);
      const member = await damage(db, id, file, 64);
      const end = (await db.archive.get(id)).manifest.timeRange.end.getTime();
      for (const q of [() => db.restore.history('K7'), () => db.restore.read('K7', { at: end }), () => db.restore.diff({ at: mid })]) {
        const err = await q().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toMatchObject({ code: 'ARCHIVE_CORRUPTED', details: { member, tried: [expect.objectContaining({ source: 'local' })] } });
        expect((err as Error).message).toContain(member);
        expect((err as { hint?: string }).hint).toBeTruthy();
      }
    } finally {
      await db.close();
    }
  });
});
