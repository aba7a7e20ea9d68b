/**
 * An in-place restore keeps the replaced directory's mode and owner, and its files the mode its snapshot
 * had: the new directory used to be made with the restoring user's defaults (0700 nobody came back 0755
 * root, a 0600 snapshot 0644: readable by every user of the machine).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { makeTempDir } from '../../support/fixtures.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

function chownTree(p: string, uid: number): void {
  fs.chownSync(p, uid, uid);
  if (fs.statSync(p).isDirectory()) for (const name of fs.readdirSync(p)) chownTree(path.join(p, name), uid);
}

describe('an in-place restore keeps mode and owner', () => {
  it('a 0700 directory with a 0600 snapshot comes back 0700 and 0600 (and, as root, owned by the same user)', async () => {
    const dir = path.join(await makeTempDir(), 'd');
    const db = await createDB({ storeConfig: { dataDir: dir } });
    for (let i = 0; i < 3; i++) await db.set(`SECRET${i}`, { i });
    await db.archive.create();
    await db.close();
    fs.chmodSync(dir, 0o700);
    fs.chmodSync(path.join(dir, 'snapshot.jss'), 0o600);
    if (isRoot) chownTree(dir, NOBODY);
    await openRestore({ dataDir: dir }).fromLatest({ force: true, cleanExisting: true });
    const mode = (p: string) => fs.statSync(p).mode & 0o777;
    expect(mode(dir)).toBe(0o700);
    expect(mode(path.join(dir, 'snapshot.jss'))).toBe(0o600);
    for (const seg of fs.readdirSync(path.join(dir, 'wal'))) expect(mode(path.join(dir, 'wal', seg))).toBe(0o600);
    if (isRoot) {
      expect(fs.statSync(dir).uid).toBe(NOBODY);
      expect(fs.statSync(path.join(dir, 'snapshot.jss')).uid).toBe(NOBODY);
    }
  });
});
