/**
 * The directory a restore builds beside its target holds the plaintext from its first byte: it was made with
 * the restoring user's defaults (0755 under umask 022) and took the target's mode only at the swap, so a 0700
 * data directory's documents lay readable by every local user for the whole build (and after a kill mid-build).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { APP_UID, chownTree, isRoot } from '../../support/app-user.js';
import { makeTempDir } from '../../support/fixtures.js';

const modeOf = (p: string) => fs.statSync(p).mode & 0o777;

/** A 0700 data directory (as root: the application's) with an archive of a few private documents. */
async function privateDataDir(): Promise<string> {
  const dir = path.join(await makeTempDir(), 'd');
  const db = await createDB({ storeConfig: { dataDir: dir } });
  for (let i = 0; i < 3; i++) await db.set(`PRIVATE${i}`, { i });
  await db.archive.create();
  await db.close();
  fs.chmodSync(dir, 0o700);
  if (isRoot) chownTree(dir);
  return dir;
}

/** The build directory beside `target`, as it is while the restore writes into it. */
function buildDirBeside(target: string): { mode: number; uid: number } {
  const name = fs.readdirSync(path.dirname(target)).find((n) => n.startsWith(`${path.basename(target)}.restore-`));
  if (name === undefined) throw new Error(`no build directory beside ${target}`);
  const st = fs.statSync(path.join(path.dirname(target), name));
  return { mode: st.mode & 0o777, uid: st.uid };
}

describe('the directory a restore builds in', () => {
  it('is as private as the 0700 data directory it replaces while the data is written (in place, --force)', async () => {
    const dir = await privateDataDir();
    const seen: Array<{ mode: number; uid: number }> = [];
    await openRestore({ dataDir: dir }).fromLatest({ force: true, hooks: { afterSnapshotRestore: () => void seen.push(buildDirBeside(dir)) } });
    expect(seen).toEqual([{ mode: 0o700, uid: isRoot ? APP_UID : process.getuid!() }]);
    expect(modeOf(dir)).toBe(0o700);
  });

  it('is as private as an existing 0700 target it replaces', async () => {
    const dir = await privateDataDir();
    const target = path.join(path.dirname(dir), 'other');
    fs.mkdirSync(target, { mode: 0o700 });
    fs.chmodSync(target, 0o700);
    fs.writeFileSync(path.join(target, 'old.txt'), 'x');
    const seen: number[] = [];
    await openRestore({ dataDir: dir }).fromLatest({ targetDir: target, force: true, hooks: { afterSnapshotRestore: () => void seen.push(buildDirBeside(target).mode) } });
    expect(seen).toEqual([0o700]);
    expect(modeOf(target)).toBe(0o700);
  });

  it('is private while a new target is built, which then gets the mode a new directory gets', async () => {
    const dir = await privateDataDir();
    const target = path.join(path.dirname(dir), 'clone');
    const seen: number[] = [];
    await openRestore({ dataDir: dir }).fromLatest({ targetDir: target, hooks: { afterSnapshotRestore: () => void seen.push(buildDirBeside(target).mode) } });
    expect(seen).toEqual([0o700]);
    const probe = path.join(path.dirname(dir), 'probe');
    fs.mkdirSync(probe);
    expect(modeOf(target)).toBe(modeOf(probe));
  });
});
