import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { acquireLock } from '../../src/store/lock/dir-lock.js';
import { hostTag } from '../../src/store/lock/process-identity.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tempDir = useTempDirs('bri-data-dir-');

/** The pid of a process that has exited: what a lock left by a killed open names. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

describe('assertDataDir', () => {
  it('a second open of a new directory whose first open holds only the lock so far is LOCKED, not NOT_A_DATA_DIR', async () => {
    const dataDir = path.join(await tempDir(), 'data');
    fs.mkdirSync(dataDir);
    // The moment the race loses on: the winner has taken the lock and not yet made wal/.
    const lock = await acquireLock(dataDir, 'store');
    try {
      expect(fs.readdirSync(dataDir)).toEqual(['bri.lock']);
      await expect(createDB({ storeConfig: { dataDir } })).rejects.toMatchObject({ code: 'LOCKED' });
    } finally {
      await lock.release();
    }
  });

  it('two opens of a new directory at the same moment: one opens, the other is LOCKED', async () => {
    const root = await tempDir();
    for (let k = 0; k < 30; k++) {
      const dataDir = path.join(root, `n${k}`);
      const r = await Promise.allSettled([createDB({ storeConfig: { dataDir } }), createDB({ storeConfig: { dataDir } })]);
      for (const x of r) if (x.status === 'fulfilled') await x.value.close();
      expect(r.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
      expect(r.flatMap((x) => (x.status === 'rejected' ? [(x.reason as { code: string }).code] : []))).toEqual(['LOCKED']);
    }
  });

  it('a directory holding only the stale lock (and scratch file) of an open killed before it made wal/ opens', async () => {
    const dataDir = path.join(await tempDir(), 'data');
    fs.mkdirSync(dataDir);
    const pid = deadPid();
    fs.writeFileSync(path.join(dataDir, 'bri.lock'), JSON.stringify({ pid, host: os.hostname(), since: Date.now() - 1000, purpose: 'store' }) + '\n');
    fs.writeFileSync(path.join(dataDir, `bri.lock.${hostTag()}.${pid}.0123456789ab.tmp`), '');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('K_1', { a: 1 });
    await db.close();
    expect((await fsp.readdir(dataDir)).sort()).toEqual(['snapshot.jss', 'wal']);
  });

  it('a directory with other files beside a lock is still refused, naming the other files only', async () => {
    const dataDir = path.join(await tempDir(), 'data');
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, 'bri.lock'), JSON.stringify({ pid: deadPid(), host: os.hostname(), since: 0, purpose: 'store' }));
    fs.writeFileSync(path.join(dataDir, 'notes.txt'), 'mine');
    await expect(createDB({ storeConfig: { dataDir } })).rejects.toMatchObject({ code: 'NOT_A_DATA_DIR', message: expect.stringMatching(/other files \(notes\.txt\)/) });
    expect(fs.readdirSync(dataDir).sort()).toEqual(['bri.lock', 'notes.txt']);
  });
});
