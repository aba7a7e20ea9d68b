/**
 * A rekey on a full archive disk (a real tmpfs, filled): it rejected with a raw, untyped ENOSPC and said
 * nothing of the archives it had already rewrapped (which then opened with the new key only). The full disk
 * is now a failure of the archive it stopped, typed IO_ERROR naming where it wrote, and the archives
 * rewrapped before it are reported as such. Needs root and a mountable tmpfs; skipped with the reason otherwise.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { mountTmpfs, umount, fillLeaving } from '../support/tmpfs.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { ageKeyFile } from '../support/age-keys.js';

const tmp = useTempDirs('bri-rekey-full-');


describe('rekey on a full archive disk (real tmpfs)', () => {
  let root: string;
  let mnt: string;
  let skip: string | null = null;
  beforeAll(async () => {
    root = await tmp();
    mnt = path.join(root, 'mnt');
    fs.mkdirSync(mnt);
    skip = mountTmpfs(mnt, 'size=4m');
    if (skip) console.warn(`rekey-full-disk: skipped: ${skip}`);
  });
  afterAll(() => {
    if (!skip) umount(mnt);
  });

  it('answers each archive: those rewrapped before the disk filled, and the one it stopped as IO_ERROR ENOSPC naming where it wrote, with a hint', async (ctx) => {
    if (skip) ctx.skip();
    const [k1, k2] = [await ageKeyFile(root, 'k1'), await ageKeyFile(root, 'k2')];
    const archive = { localDir: path.join(mnt, 'arch'), compression: { level: 1 }, encryption: { recipients: [k1.recipient] } };
    const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), fsyncMode: 'batched', archive } });
    try {
      // A small archive and a large one (incompressible): room enough to rewrap the first, not the second.
      for (let i = 0; i < 20; i++) await db.set(`S${i}`, { r: randomBytes(500).toString('base64') });
      const small = (await db.archive.create()).manifest.archiveId;
      for (let i = 0; i < 900; i++) await db.set(`L${i}`, { r: randomBytes(700).toString('base64') });
      const large = (await db.archive.create()).manifest.archiveId;
      fillLeaving(mnt, 300 * 1024);
      const r = await db.archive.rekey({ recipients: [k2.recipient], identity: k1.file });
      expect(r.archives.map((a) => a.archiveId)).toEqual([small]);
      // (The sealed seed, rewritten after the archives, may fail on the full disk too: a failure of its own.)
      const f = r.failures.find((x) => x.archiveId !== null)!;
      expect(r.failures.filter((x) => x.archiveId !== null), JSON.stringify(r.failures)).toHaveLength(1);
      expect(f).toMatchObject({ archiveId: large, code: 'IO_ERROR', source: 'local' });
      expect(f.error).toMatch(/ENOSPC/);
      expect(f.error).toContain(path.join(mnt, 'arch'));
      expect(f.hint).toMatch(new RegExp(`holding ${path.join(mnt, 'arch').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.* is full`));
      expect(f.state).toMatch(/old identity only/);
    } finally {
      fs.rmSync(path.join(mnt, 'filler'), { force: true });
      await db.close();
    }
  }, 120_000);
});
