/**
 * Time travel over shipped WAL that is damaged or missing in the middle. As a restore does, each next
 * line is taken from the first source whose shipment holding it can be fetched and checked; a
 * shipment no source can give ends what can be read: an answer for a moment past it is
 * TIMESTAMP_NOT_FOUND (an answer from fewer lines would be wrong), an answer for the newest moment
 * stops before it and says so. Before, a damaged shipment failed every query even when another
 * remote held it, and a missing one was skipped silently.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB, type BriDB } from '../../../src/db.js';
import type { SourceProblem } from '../../../src/archive/copies/fetch.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-shipped-');

/** A database archived once, then four batches of writes shipped to `remotes` local folders, one shipment at least per batch. */
async function shippedDb(remotes: string[]): Promise<{ db: BriDB; shipments: (remote: string) => Promise<string[]> }> {
  const root = await tmp();
  for (const r of remotes) await fsp.mkdir(path.join(root, r));
  const archive = {
    compression: { level: 1 },
    remotes: remotes.map((name) => ({ provider: 'local' as const, name, path: path.join(root, name) })),
    continuous: { enabled: true, intervalMs: 20 },
  };
  const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), walSegmentSize: 600, archive } });
  await db.set('K0', { v: -1 });
  await db.archive.create();
  for (let b = 0; b < 4; b++) {
    for (let i = 0; i < 5; i++) await db.set(`K${i}`, { b, i });
    await db.archive.flushShipping();
    await new Promise((r) => setTimeout(r, 3));
  }
  const shipments = async (remote: string) =>
    (await fsp.readdir(path.join(root, remote), { recursive: true }))
      .filter((f) => f.endsWith('.wal.zst') && !path.basename(f).startsWith('.'))
      .sort()
      .map((f) => path.join(root, remote, f));
  return { db, shipments };
}

/** The first and last line a shipment's name says it holds. */
const linesOf = (file: string) => path.basename(file).split('.')[0]!.split('-').map(Number) as [number, number];

async function flip(file: string): Promise<void> {
  const b = await fsp.readFile(file);
  b[Math.floor(b.length / 2)]! ^= 0xff;
  await fsp.writeFile(file, b);
}

const told = () => {
  const got: SourceProblem[] = [];
  return { got, o: { onSourceProblem: (p: SourceProblem) => got.push(p) } };
};

describe('time travel over damaged or missing shipped WAL', () => {
  it('takes a damaged shipment from another remote: the same answers, the damage said', async () => {
    const { db, shipments } = await shippedDb(['nas', 'nas2']);
    try {
      const history = await db.restore.history('K3');
      expect(history.entries.map((e) => e.action)).toEqual(['SET', 'SET', 'SET', 'SET']);
      const late = history.entries.at(-1)!.timestamp;
      const early = history.entries[0]!.timestamp;
      const read = await db.restore.read('K3', { at: late });
      const diff = await db.restore.diff({ at: early });
      const own = await shipments('nas');
      const victim = own[Math.floor(own.length / 2)]!;
      await flip(victim);

      const t = told();
      expect((await db.restore.history('K3', t.o)).entries).toEqual(history.entries);
      expect((await db.restore.read('K3', { ...t.o, at: late })).document).toBe(read.document);
      const d = await db.restore.diff({ ...t.o, at: early });
      expect([d.added, d.changed, d.removed, d.sets]).toEqual([diff.added, diff.changed, diff.removed, diff.sets]);
      const [from, to] = linesOf(victim);
      expect(t.got.length).toBe(3);
      for (const p of t.got) expect(p).toMatchObject({ source: 'nas', reason: expect.stringContaining(`shipped WAL lines ${from}..${to}`) as unknown });
      // The object's name is said once, not twice.
      expect(t.got[0]!.reason.split(path.basename(victim)).length).toBe(2);
    } finally {
      await db.close();
    }
  });

  it('moments in each of three archives, with shipped WAL after the last, are answered exactly and nothing is said', async () => {
    const { db } = await shippedDb(['nas']);
    try {
      // Two more archives, then more shipped lines after the last.
      await db.archive.create();
      await new Promise((r) => setTimeout(r, 5));
      for (let i = 0; i < 5; i++) await db.set(`K${i}`, { b: 8, i });
      await new Promise((r) => setTimeout(r, 5));
      await db.archive.create();
      for (let i = 0; i < 5; i++) await db.set(`K${i}`, { b: 9, i });
      await db.archive.flushShipping();
      const history = await db.restore.history('K3');
      expect(history.entries.map((e) => JSON.parse(e.value!).b)).toEqual([0, 1, 2, 3, 8, 9]);
      const t = told();
      for (const [n, e] of history.entries.entries()) {
        // At the change and just before the next one (a moment after the last line applied).
        const next = history.entries[n + 1]?.timestamp;
        for (const at of [e.timestamp, ...(next !== undefined && next - 1 > e.timestamp ? [next - 1] : [])]) {
          expect((await db.restore.read('K3', { ...t.o, at })).document, `change ${n} at ${at}`).toBe(e.value);
          const d = await db.restore.diff({ ...t.o, at: history.entries[0]!.timestamp, to: at });
          expect(d.changed.includes('K3')).toBe(n > 0);
        }
      }
      expect(t.got).toEqual([]);
    } finally {
      await db.close();
    }
  });

  for (const harm of ['damaged', 'deleted'] as const) {
    it(`a shipment ${harm} on the only remote asked: answers up to the line before it, a moment past it is TIMESTAMP_NOT_FOUND`, async () => {
      const { db, shipments } = await shippedDb(['nas']);
      try {
        const history = await db.restore.history('K3');
        const own = await shipments('nas');
        const victim = own[Math.floor(own.length / 2)]!;
        const [from] = linesOf(victim);
        const before = history.entries.filter((e) => e.line < from);
        const after = history.entries.filter((e) => e.line >= from);
        expect(before.length).toBeGreaterThan(0);
        expect(after.length).toBeGreaterThan(0);
        const early = before.at(-1)!.timestamp;
        const late = after.at(-1)!.timestamp;
        const readEarly = await db.restore.read('K3', { at: early });
        if (harm === 'damaged') await flip(victim);
        else await fsp.rm(victim);

        // Asked of that remote alone (the data directory, which still holds the lines, is not read then).
        const nas = { source: 'nas' };
        const t = told();
        // History stops before the lost line, and says where and why.
        const partial = await db.restore.history('K3', { ...t.o, ...nas });
        expect(partial.entries).toEqual(before);
        expect(partial.missing).toEqual([{ fromLine: from, toLine: null, reason: expect.stringContaining('shipped') as unknown }]);
        expect(history.missing).toEqual([]);
        expect(t.got.at(-1)!.reason).toMatch(new RegExp(`from line ${from}: .*shipped.*the answer stops at line ${from - 1}`));
        // A moment before it answers as before; one past it cannot be answered.
        expect(await db.restore.read('K3', { ...nas, at: early })).toMatchObject({ document: readEarly.document });
        await expect(db.restore.read('K3', { ...nas, at: late })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
        await expect(db.restore.diff({ ...nas, at: early, to: late })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
        await expect(db.restore.history('K3', { ...nas, to: late })).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
        // The newest moment that can be read is the line before it: a diff to it answers.
        const d = told();
        await db.restore.diff({ ...d.o, ...nas, at: early });
        expect(d.got.some((p) => p.reason.includes(`the answer stops at line ${from - 1}`))).toBe(true);

        // Asked of every place, the data directory still holds those lines: the answers are whole again, the loss said.
        const w = told();
        const whole = await db.restore.history('K3', w.o);
        expect(whole.entries).toEqual(history.entries);
        expect(whole.missing).toEqual([]);
        expect((await db.restore.read('K3', { at: late })).document).toBe(history.entries.at(-1)!.value);
        // (A damaged shipment is said; a deleted one is simply not there to read.)
        if (harm === 'damaged') expect(w.got.some((p) => p.source === 'nas' && p.reason.includes(`shipped WAL lines ${from}..`))).toBe(true);
      } finally {
        await db.close();
      }
    });
  }
});
