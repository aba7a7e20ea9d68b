/**
 * A data directory whose snapshot holds a state its WAL does not replay to: the WAL's segments were
 * removed and the snapshot's walLine lowered (the format allows it), then BRI wrote again from
 * 000000.wal. The first archive starts from the snapshot's state, never from the empty one, so that
 * a restore gives back everything the directory holds.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-snapshot-beyond-wal-');

/** A, B and set S in snapshot.jss at walLine 0, wal/ empty: every segment removed, walLine lowered as the format says. */
async function snapshotOnly(dataDir: string): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir } });
  await db.set('A', { v: 1 });
  await db.set('B', { v: 2 });
  await db.sAdd('S', 'A');
  await db.close();
  const wal = path.join(dataDir, 'wal');
  for (const f of await fsp.readdir(wal)) await fsp.rm(path.join(wal, f));
  const snap = path.join(dataDir, 'snapshot.jss');
  await fsp.writeFile(snap, (await fsp.readFile(snap, 'utf8')).replace(/"walLine":\d+/, '"walLine":0'));
}

async function restoredState(dataDir: string): Promise<ReturnType<typeof toPlainState>> {
  const target = path.join(path.dirname(dataDir), `restored-${Math.random().toString(36).slice(2)}`);
  await openRestore({ dataDir }).fromLatest({ targetDir: target });
  return toPlainState((await recover(target)).state);
}

const AB_S = { A: '{"v":1}', B: '{"v":2}' };

it('a snapshot at walLine 0 over an emptied WAL is archived as the state at line 0, and the archive written after it (in process) restores A, B, S and C', async () => {
  const dataDir = path.join(await tmp(), 'data');
  await snapshotOnly(dataDir);
  // Before any write: a state-only archive at line 0, not a refusal about .seeds/.
  const first = await runCli(['archive', 'create', '-d', dataDir]);
  expect(first.code, first.stderr).toBe(0);
  expect(first.stdout).toMatch(/snapshot\s+at line 0, 2 documents/);

  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
  await db.set('C', { v: 3 });
  const made = await db.archive.create();
  await db.close();
  expect(made.manifest.timeRange.walLines).toEqual({ start: 0, end: 1 });
  expect(made.manifest.stats.documentsAtSnapshot).toBe(2);
  expect(made.manifest.chain.verified).toBe(true);
  expect(await restoredState(dataDir)).toEqual({ documents: { ...AB_S, C: '{"v":3}' }, collections: { S: ['A'] } });
});

it('the first archive of such a directory written to in process (no archive before) starts from the snapshot, not from the empty state', async () => {
  const dataDir = path.join(await tmp(), 'data');
  await snapshotOnly(dataDir);
  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
  await db.set('C', { v: 3 });
  const made = await db.archive.create();
  await db.close();
  expect(made.manifest.contents.snapshot.walLine).toBe(0);
  expect(made.manifest.stats.documentsAtSnapshot).toBe(2);
  expect(await restoredState(dataDir)).toEqual({ documents: { ...AB_S, C: '{"v":3}' }, collections: { S: ['A'] } });
});

it('written to and closed (BRI snapshots at line N > 0 over the emptied WAL): the CLI archives the snapshot\'s state and says the lines before it are not in the archive', async () => {
  const dataDir = path.join(await tmp(), 'data');
  await snapshotOnly(dataDir);
  const db = await createDB({ storeConfig: { dataDir } });
  await db.set('C', { v: 3 });
  await db.set('D', { v: 4 });
  await db.close();
  const made = await runCli(['archive', 'create', '-d', dataDir]);
  expect(made.code, made.stderr).toBe(0);
  expect(made.stderr).toMatch(/WARNING: the data directory's snapshot \(line 2\) holds a state that the WAL's lines 1\.\.2 do not replay to/);
  expect(await restoredState(dataDir)).toEqual({ documents: { ...AB_S, C: '{"v":3}', D: '{"v":4}' }, collections: { S: ['A'] } });
});

it('the segments under the snapshot removed (walLine lowered to 0) while later ones stay: archived from the state at line 1 (the snapshot plus that line), since readers check line 1 against the empty pointer', async () => {
  const root = await tmp();
  const [live, dataDir] = [path.join(root, 'live'), path.join(root, 'data')];
  const db = await createDB({ storeConfig: { dataDir: live } });
  await db.set('A', { v: 1 });
  await db.set('B', { v: 2 });
  await db.sAdd('S', 'A');
  await db.close(); // snapshot at line 3, the WAL rotated after it
  const db2 = await createDB({ storeConfig: { dataDir: live, fsyncMode: 'always' } });
  await db2.set('C', { v: 3 });
  // The directory as it is on disk now (the snapshot at 3, line 4 in a later segment).
  await fsp.cp(live, dataDir, { recursive: true });
  await db2.close();
  await fsp.rm(path.join(dataDir, 'bri.lock'), { force: true });
  const wal = path.join(dataDir, 'wal');
  for (const f of (await fsp.readdir(wal)).sort()) {
    if ((await fsp.readFile(path.join(wal, f), 'utf8')).includes('"C"')) break;
    await fsp.rm(path.join(wal, f));
  }
  const snap = path.join(dataDir, 'snapshot.jss');
  await fsp.writeFile(snap, (await fsp.readFile(snap, 'utf8')).replace(/"walLine":\d+/, '"walLine":0'));
  const made = await runCli(['archive', 'create', '-d', dataDir]);
  expect(made.code, made.stderr).toBe(0);
  expect(made.stdout).toMatch(/snapshot\s+at line 1, 3 documents/);
  expect(made.stderr).toMatch(/WARNING: the WAL.s first line continues lines no longer in wal\//);
  expect(await restoredState(dataDir)).toEqual({ documents: { ...AB_S, C: '{"v":3}' }, collections: { S: ['A'] } });
});
