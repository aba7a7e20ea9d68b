/**
 * Two instances that began on one origin and wrote past it at the same time: a clone kept beside the
 * database it came from, both uploading their archives to one remote. Both chains begin on the clone's
 * origin, and both have an archive whose time range covers each line either wrote after it, so neither
 * the origin nor the times can tell them apart. A directory restored from the clone (a third instance)
 * must still read the clone's lines, not the database's: its restore record names the instance it took
 * its lines from.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { expectReadByReplay, expectRestoredState, historyByTable, rawWal, replayTo, type RawLine } from '../../support/wal-reference.js';

const tmp = useTempDirs('bri-sibling-concurrent-');
const tick = () => new Promise((r) => setTimeout(r, 4));

it('a directory restored from a clone that wrote beside its original reads the clone’s lines, not the original’s', async () => {
  const root = await tmp();
  const nas = path.join(root, 'nas');
  await fs.mkdir(nas);
  const config = (dataDir: string) => ({ dataDir, archive: { compression: { level: 1 }, remotes: [{ provider: 'local' as const, name: 'nas', path: nas }] } });
  const dataDir = path.join(root, 'data');
  const cloneDir = path.join(root, 'clone');
  const db = await createDB({ storeConfig: config(dataDir) });
  await db.set('A', { v: 0 });
  await tick();
  await db.set('B', { v: 0 });
  await db.archive.create();
  await db.restore.clone({ targetDir: cloneDir });
  const clone = await createDB({ storeConfig: config(cloneDir) });
  // Both write lines 3..8, taking turns: the database's one archive of them spans the clone's times, and the
  // clone's two (3..6, 7..8) the database's.
  const write = async (from: number, to: number) => {
    for (let v = from; v <= to; v++) {
      await tick();
      await db.set('A', { v, by: 'original' });
      await tick();
      await clone.set('A', { v, by: 'clone' });
    }
  };
  await write(1, 4);
  await clone.archive.create();
  await write(5, 6);
  await db.archive.create();
  await clone.archive.create();
  for (const d of [db, clone]) expect((await d.archive.upload()).map((s) => s.outcome)).not.toContain('failed');
  await db.close();
  const cloneLines: RawLine[] = await rawWal(cloneDir);
  expect(cloneLines).toHaveLength(8);
  await clone.close();

  // The clone, restored in place to the time of its line 7 (in its second archive, which starts at line 6): a
  // third instance, begun on line 6, whose record says where its lines came from.
  const fork = cloneLines[6]!.ts;
  const back = openRestore({ dataDir: cloneDir, config: config(cloneDir).archive });
  await back.toTimestamp(fork, { force: true }).finally(() => back.close());
  const record = await readArchiveState(cloneDir);
  expect(record).toMatchObject({ origin: { line: 6 }, restoredThrough: 7 });
  const third = await createDB({ storeConfig: config(cloneDir) });
  try {
    await tick();
    await third.set('B', { v: 'third' });
    // (Its WAL holds line 7, restored, and its own line after it.)
    const kept = [...cloneLines.slice(0, 7), { ...(await rawWal(cloneDir)).at(-1)!, line: 8 }];

    const at = cloneLines[4]!.ts;
    const cloneId = (await readArchiveState(cloneDir))!.restoredFrom!;
    /** A moment of the clone's own lines before the third began (line 5) is the clone's: from every source, and from the remote alone. */
    const expectTheClones = async (label: string) => {
      // The archive that holds that moment for this directory is the clone's.
      expect((await third.restore.findForTimestamp(at)).manifest.instanceId).toBe(cloneId);
      for (const source of [undefined, 'nas']) {
        const ref = expectReadByReplay(await third.restore.read('A', { at, ...(source ? { source } : {}) }), kept, 'A', at);
        expect(JSON.parse(ref.documents.get('A')!)).toMatchObject({ by: 'clone' });
        const target = path.join(root, `at-t-${label}-${source ?? 'all'}`);
        await third.restore.toTimestamp(at, { targetDir: target, ...(source ? { source } : {}) });
        await expectRestoredState(target, replayTo(kept, at));
      }
      // Its history: the clone's lines up to where the third began, then its own.
      for (const key of ['A', 'B']) {
        const h = await third.archive.history(key);
        expect(h.missing).toEqual([]);
        expect(h.entries.map((e) => [e.line, e.value])).toEqual(historyByTable(key, kept).map((l) => [l.line, l.op.action === 'SET' ? l.op.value : null]));
      }
    };
    // Nothing of the third archived yet: the archives' instances are two branches side by side.
    await expectTheClones('unarchived');
    // Archived and uploaded (its first archive starts at line 6): a moment before it is the instance it came from's.
    await third.archive.create();
    expect((await third.archive.upload()).map((s) => s.outcome)).not.toContain('failed');
    await expectTheClones('archived');
  } finally {
    await third.close();
  }
});

it('a restoredFrom that is not an instance id (an edited bri-archive.json) is left out, not taken for damage', async () => {
  const dataDir = path.join(await tmp(), 'data');
  const db = await createDB({ storeConfig: { dataDir } });
  await db.set('A', { v: 1 });
  await db.archive.create();
  await db.close();
  const file = path.join(dataDir, 'bri-archive.json');
  const state = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  for (const bad of [42, '../elsewhere', '']) {
    await fs.writeFile(file, JSON.stringify({ ...state, restoredFrom: bad }));
    const read = await readArchiveState(dataDir);
    expect(read?.instanceId).toBe(state.instanceId);
    expect(read).not.toHaveProperty('restoredFrom');
  }
  await fs.writeFile(file, JSON.stringify({ ...state, restoredFrom: state.instanceId }));
  expect((await readArchiveState(dataDir))?.restoredFrom).toBe(state.instanceId);
});
