import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArchiveApi, offlineHost } from '../../../src/archive/archive-api.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { parseEncryptionKey } from '../../../src/format/encryption.js';
import { createDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { verifyDataDir } from '../../../src/store/verify-data-dir.js';
import { copyFixture, FIXTURE_NAMES, fixtureKey, fixturesPresent, loadCheckpoints, normalizeState } from '../../support/fixtures.js';

const made: string[] = [];
afterAll(async () => {
  for (const d of made) await fsp.rm(d, { recursive: true, force: true });
});

describe.skipIf(!fixturesPresent())('restore the BRI fixtures to every checkpoint', () => {
  for (const name of FIXTURE_NAMES) {
    it(`${name}: one archive, restored to each checkpoint's time and to the latest`, async () => {
      const dataDir = await copyFixture(name);
      const root = path.dirname(dataDir);
      made.push(root);
      const key = fixtureKey(name) ? parseEncryptionKey(fixtureKey(name)!) : undefined;
      await new ArchiveApi(offlineHost(dataDir, key), { compression: { level: 3 } }).create();
      const restore = openRestore({ dataDir, ...(key ? { key } : {}) });
      const cps = loadCheckpoints(name);
      for (const cp of cps) {
        const target = path.join(root, `at-${cp.afterRound}`);
        const result = await restore.toTimestamp(cp.at, { targetDir: target });
        expect(result.movedAside).toBeNull();
        const rec = await recover(target, key ? { encryptionKey: key } : {});
        expect(normalizeState(toPlainState(rec.state)), `round ${cp.afterRound}`).toEqual(normalizeState(cp.state));
        expect((await verifyDataDir(target, key)).ok).toBe(true);
      }
      const latest = path.join(root, 'latest');
      await restore.fromLatest({ targetDir: latest });
      const db = await createDB({ storeConfig: { dataDir: latest, snapshotOnClose: false, ...(fixtureKey(name) ? { encryptionKey: fixtureKey(name)! } : {}) } });
      expect(normalizeState(toPlainState(db.state))).toEqual(normalizeState(cps[cps.length - 1]!.state));
      await db.close();
    });
  }

  it('small: several archives; a timestamp picks the archive whose range holds it', async () => {
    const dataDir = await copyFixture('small');
    const root = path.dirname(dataDir);
    made.push(root);
    const cps = loadCheckpoints('small');
    // Replay the fixture's writes into a fresh store in three parts, archiving after each.
    const live = path.join(root, 'live');
    await fsp.mkdir(path.join(live, 'wal'), { recursive: true });
    const segs = (await fsp.readdir(path.join(dataDir, 'wal'))).sort();
    const db = await createDB({ storeConfig: { dataDir: live, snapshotOnClose: false } });
    await db.close();
    // Copy segments in three batches with an offline archive after each (segments are BRI's own).
    const api = new ArchiveApi(offlineHost(live, undefined), { compression: { level: 1 } });
    await fsp.rm(path.join(live, 'wal'), { recursive: true });
    await fsp.mkdir(path.join(live, 'wal'));
    const parts = [segs.slice(0, 4), segs.slice(4, 8), segs.slice(8, 11)];
    for (const part of parts) {
      for (const s of part) await fsp.copyFile(path.join(dataDir, 'wal', s), path.join(live, 'wal', s));
      await api.create();
    }
    const archives = await api.list();
    expect(archives).toHaveLength(3);
    const restore = openRestore({ dataDir: live });
    const used = new Set<string>();
    for (const cp of cps) {
      const found = await restore.findForTimestamp(cp.at);
      used.add(found.manifest.archiveId);
      const target = path.join(root, `multi-${cp.afterRound}`);
      await restore.toTimestamp(cp.at, { targetDir: target });
      const rec = await recover(target);
      expect(normalizeState(toPlainState(rec.state)), `round ${cp.afterRound}`).toEqual(normalizeState(cp.state));
    }
    expect(used.size).toBeGreaterThan(1);
    await expect(restore.toTimestamp(cps[0]!.at - 10_000_000, { targetDir: path.join(root, 'never') })).rejects.toMatchObject({
      code: 'TIMESTAMP_NOT_FOUND',
      message: expect.stringContaining('available:'),
    });
  });
});
