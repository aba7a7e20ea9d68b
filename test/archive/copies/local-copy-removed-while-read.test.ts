/**
 * A local copy removed while it is read (keepLocal's prune in the database's own job, or another
 * process's, between the listing and the end of the read) leaves the reading whole: a restore, a
 * download and a verify read it through a link of their own. They used to fail IO_ERROR ENOENT ("check the
 * path") while the remote held a whole copy.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const root = useTempDirs('bri-removed-while-read-');

async function twoArchives() {
  const r = await root();
  const nas = path.join(r, 'nas');
  await fsp.mkdir(nas);
  const archive = { localDir: path.join(r, 'arch'), remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], compression: { level: 1 } };
  const db = await createDB({ storeConfig: { dataDir: path.join(r, 'data'), archive } });
  for (let i = 0; i < 50; i++) await db.set(`A_${i}`, { i, pad: 'z'.repeat(500) });
  const first = await db.archive.create();
  const state = toPlainState(db.state);
  for (let i = 0; i < 5; i++) await db.set(`B_${i}`, { i });
  await db.archive.create();
  return { r, db, first, state };
}

describe('a local copy removed while it is read', () => {
  it('a restore from it completes from what it began to read', async () => {
    const { r, db, first, state } = await twoArchives();
    try {
      const target = path.join(r, 'restored');
      const hooks = { afterSnapshotRestore: () => fs.rmSync(first.file) };
      await db.restore.from(first.archiveId, { targetDir: target, hooks });
      expect(fs.existsSync(first.file)).toBe(false);
      expect(toPlainState((await recover(target)).state)).toEqual(state);
    } finally {
      await db.close();
    }
  });

  it('verify and verifyAll report it whole, and a download completes', async () => {
    const { r, db, first } = await twoArchives();
    try {
      let removed = false;
      const all = await db.archive.verifyAll({
        onProgress: (e) => {
          if (!removed && e.operation === 'verify') {
            removed = true;
            fs.rmSync(first.file);
          }
        },
      });
      expect(removed).toBe(true);
      expect(all.archives.filter((v) => !v.ok).map((v) => v.error)).toEqual([]);
      const out = path.join(r, 'copy.bri');
      await db.archive.download(first.archiveId, out);
      expect(fs.statSync(out).size).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  });
});
