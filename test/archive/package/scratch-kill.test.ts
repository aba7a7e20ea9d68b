/**
 * A restore killed while it repairs leaves nothing in the OS temp directory
 * (issue 13, item 6): its scratch files (the repaired copy being written) are
 * beside the restore target, under a name that says what they are and whose
 * they are, and the next run there removes what the dead process left. A
 * real `bri restore` child, SIGKILLed as soon as its repair writes.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { spawnTs, waitExit } from '../../support/child.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { flipByte } from '../../support/tools.js';

const tempDir = useTempDirs('bri-scratch-kill-');

/** Files of `pid` in `dir`: our scratch names, and the names the repairer used to give in the OS temp directory. */
function filesOf(dir: string, pid: number): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => n.startsWith(`bri-repaired-${pid}-`) || (n.includes('.bri-scratch.') && n.includes(`.${pid}.`)));
  } catch {
    return [];
  }
}

describe('a restore killed while it repairs', () => {
  it('leaves its scratch files beside the target, never in the OS temp directory, and the next restore removes them', async () => {
    const root = await tempDir();
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, walSegmentSize: 1024 * 1024 } });
    let expected;
    let created;
    try {
      // Incompressible documents: a repair of many blocks takes long enough to be caught in the middle.
      for (let i = 0; i < 2400; i += 200) await Promise.all(Array.from({ length: 200 }, (_, j) => db.set(`B_${i + j}`, { blob: randomBytes(3000).toString('base64') })));
      created = await db.archive.create({ level: 1 });
      expected = toPlainState(db.state);
    } finally {
      await db.close();
    }
    const ec = created.manifest.errorCorrection;
    // Damage as many blocks as the recovery data can rebuild, spread over the WAL members.
    const bytes = await fsp.readFile(created.file);
    const prefix = bytes.indexOf(Buffer.from('recovery.par2\0'));
    const damaged = Math.floor(ec.recoveryBlockCount! * 0.9);
    for (let k = 0; k < damaged; k++) flipByte(bytes, 4096 + Math.floor(((prefix - 8192) * k) / damaged), 0x33);
    const archiveDir = path.join(root, 'archives');
    await fsp.mkdir(archiveDir);
    await fsp.writeFile(path.join(archiveDir, path.basename(created.file)), bytes);
    const parent = path.join(root, 'parent');
    await fsp.mkdir(parent);
    const target = path.join(parent, 'target');
    const args = ['restore', 'latest', '-d', dataDir, '-a', archiveDir, '--target', target, '--quiet'];

    const child = spawnTs('src/cli/main.ts', args, { BRI_ENCRYPTION_KEY: '' });
    const pid = child.pid!;
    let seen: string[] = [];
    const watch = setInterval(() => {
      seen = [...filesOf(parent, pid), ...filesOf(os.tmpdir(), pid)];
      if (seen.length > 0) child.kill('SIGKILL');
    }, 1);
    const exit = await waitExit(child);
    clearInterval(watch);
    expect(exit.signal, 'the child was killed while it repaired (it finished first: make the repair longer)').toBe('SIGKILL');
    expect(filesOf(os.tmpdir(), pid), 'scratch files in the OS temp directory').toEqual([]);
    const left = filesOf(parent, pid);
    expect(left.length, 'what the kill left is beside the target').toBeGreaterThan(0);
    for (const name of left) expect(name).toMatch(new RegExp(`^\\.{1,2}bri-scratch\\.[A-Za-z0-9-]+\\.${pid}\\.[0-9a-f]+\\.`));
    await expect(fsp.access(target)).rejects.toThrow();

    const again = await runCli(args);
    expect(again.code, again.stderr).toBe(0);
    expect(toPlainState((await recover(target)).state)).toEqual(expected);
    expect(filesOf(parent, pid), 'the next restore removed what the killed one left').toEqual([]);
    expect((await fsp.readdir(parent)).filter((n) => n.includes('scratch'))).toEqual([]);
  }, 120_000);
});
