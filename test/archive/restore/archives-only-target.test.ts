/**
 * A data directory that holds nothing but its own archive directory (the default, <data>/archives: the
 * store's files lost, the archives kept) is restored in place without --force, and leaves no empty
 * directory aside; anything else in it still needs --force and is kept aside.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('bri-archives-only-target-');

async function archivedThenLost(): Promise<{ root: string; dataDir: string }> {
  const root = await tempDir();
  const dataDir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
  for (let i = 0; i < 20; i++) await db.set(`K_${i}`, { i });
  await db.sAdd('S', 'K_1');
  await db.archive.create();
  await db.close();
  // The store's files are lost; the archive directory inside the data directory is left.
  for (const e of fs.readdirSync(dataDir)) if (e !== 'archives') fs.rmSync(path.join(dataDir, e), { recursive: true });
  return { root, dataDir };
}

describe('a target holding only its archive directory', () => {
  it('restores in place without force: the dry run says nothing moves aside, the run leaves no empty shell, and the chain goes on', async () => {
    const { root, dataDir } = await archivedThenLost();
    const dry = await openRestore({ dataDir }).fromLatest({ dryRun: true });
    expect(dry.movedAside).toBeNull();
    const r = await openRestore({ dataDir }).fromLatest();
    expect(r.movedAside).toBeNull();
    expect(fs.readdirSync(root)).toEqual(['data']);
    const db = await createDB({ storeConfig: { dataDir } });
    try {
      expect(db.get('K_19')).toEqual({ i: 19 });
      expect(db.sMembers('S')).toEqual(['K_1']);
      await db.set('NEW', { v: 1 });
      const next = await db.archive.create();
      expect(next.manifest.previousArchiveId).toBe(r.plan.archive!.manifest.archiveId);
      expect(next.manifest.timeRange.walLines).toEqual({ start: 21, end: 22 });
    } finally {
      await db.close();
    }
  });

  it('anything beside it is still the user\'s: refused without force, kept aside with it', async () => {
    const { root, dataDir } = await archivedThenLost();
    fs.writeFileSync(path.join(dataDir, 'notes.txt'), 'mine');
    await expect(openRestore({ dataDir }).fromLatest()).rejects.toMatchObject({ code: 'RESTORE_ERROR', message: `${dataDir} is not empty` });
    const r = await openRestore({ dataDir }).fromLatest({ force: true });
    expect(r.movedAside).not.toBeNull();
    expect(fs.readFileSync(path.join(r.movedAside!, 'notes.txt'), 'utf8')).toBe('mine');
    expect(fs.readdirSync(root).sort()).toEqual(['data', path.basename(r.movedAside!)].sort());
  });
});
