/**
 * Every reader refuses a manifest over MAX_MANIFEST_BYTES (about 37,000 WAL segments' worth): an
 * archive that lists more segments than that can never be listed or restored. Create stops the archive
 * at the segment boundary where the manifest would pass the limit, says so, and the next create
 * continues from there. The limit is lowered through createArchive's internal option: the real one
 * needs tens of thousands of segments.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { createArchive, writeArchivePackage } from '../../../src/archive/create/create.js';
import { MAX_MANIFEST_BYTES } from '../../../src/archive/package/reader.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { encodeManifest, type Manifest } from '../../../src/format/manifest.js';
import { toPlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { listSegments } from '../../../src/store/layout.js';
import { offlineSealer } from '../../../src/store/offline.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-manifest-limit-');
const LIMIT = 100 * 1024;

/** A closed database of `n` keys K0.., about one line per WAL segment. */
async function manySegments(dataDir: string, n: number): Promise<void> {
  const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 150 } });
  for (let i = 0; i < n; i++) await db.set(`K${i}`, { i });
  await db.close();
}

it('more segments than one manifest may list: create stops at a segment boundary within the limit, says where, and the next creates continue until every line is archived and restores', async () => {
  const root = await tmp();
  const [dataDir, archiveDir] = [path.join(root, 'data'), path.join(root, 'archives')];
  await manySegments(dataDir, 300);
  expect((await listSegments(dataDir)).length).toBeGreaterThan(250);
  // The seal hands over the end state's text, as a running database does: an archive stopped before it must not take it as its seed.
  const seal = offlineSealer(dataDir, undefined);
  const made = [];
  for (let round = 0; round < 10; round++) {
    const a = await createArchive({ dataDir, archiveDir, seal, level: 1, maxManifestBytes: LIMIT });
    made.push(a);
    expect(Buffer.byteLength(encodeManifest(a.manifest))).toBeLessThanOrEqual(LIMIT);
    if (a.manifest.timeRange.walLines.end === 300) break;
    expect(a.warnings.join('\n')).toMatch(/stay in wal\/ for the next archive: run `bri archive create` again/);
  }
  expect(made.length).toBeGreaterThan(2);
  // One chain, each archive starting where the one before ended, from the state at that line.
  for (let i = 1; i < made.length; i++) {
    const [prev, m] = [made[i - 1]!.manifest, made[i]!.manifest];
    expect(m.previousArchiveId).toBe(prev.archiveId);
    expect(m.timeRange.walLines.start).toBe(prev.timeRange.walLines.end);
    expect(m.stats.documentsAtSnapshot).toBe(prev.timeRange.walLines.end);
  }
  const target = path.join(root, 'restored');
  await openRestore({ dataDir, archiveDir }).fromLatest({ targetDir: target });
  expect(toPlainState((await recover(target)).state)).toEqual(toPlainState((await recover(dataDir)).state));
});

it('the seal\'s end state (a running database\'s) is not the seed of an archive stopped before the seal\'s line', async () => {
  const root = await tmp();
  const [dataDir, archiveDir] = [path.join(root, 'data'), path.join(root, 'archives')];
  await manySegments(dataDir, 200);
  const offline = offlineSealer(dataDir, undefined);
  const endState = (await recover(dataDir)).state;
  const seal = async (removed: number) => {
    const r = await offline(removed);
    const { encodeSnapshot } = await import('../../../src/format/snapshot-file.js');
    return { ...r, endSnapshotText: encodeSnapshot({ version: 1, walLine: r.endLocalLine, timestamp: Date.now(), state: endState }), endCounts: { documents: endState.documents.size, collections: 0 } };
  };
  const first = await createArchive({ dataDir, archiveDir, seal, level: 1, maxManifestBytes: LIMIT });
  const cut = first.manifest.timeRange.walLines.end;
  expect(cut).toBeLessThan(200);
  const second = await createArchive({ dataDir, archiveDir, seal, level: 1, maxManifestBytes: LIMIT });
  expect(second.manifest.stats.documentsAtSnapshot).toBe(cut);
});

it('a manifest over the readers\' limit is refused before any package is written (the last guard, for create and rekey)', async () => {
  const root = await tmp();
  const [dataDir, archiveDir] = [path.join(root, 'data'), path.join(root, 'archives')];
  await manySegments(dataDir, 3);
  const a = await createArchive({ dataDir, archiveDir, seal: offlineSealer(dataDir, undefined), level: 1 });
  const seg = a.manifest.contents.segments[0]!;
  const many = Array.from({ length: Math.ceil(MAX_MANIFEST_BYTES / 300) }, (_, i) => ({ ...seg, file: `wal/${String(i).padStart(6, '0')}.wal.zst`, segment: `${String(i).padStart(6, '0')}.wal` }));
  const huge: Manifest = { ...a.manifest, contents: { ...a.manifest.contents, segments: many } };
  const stageDir = path.join(root, 'stage');
  await fsp.mkdir(stageDir);
  const err = await writeArchivePackage(huge, a.file, [], stageDir, undefined, () => undefined).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'ARCHIVE_ERROR', message: expect.stringMatching(/over the 16777216 its readers accept/) });
  expect(await fsp.readdir(stageDir)).toEqual([]);
});
