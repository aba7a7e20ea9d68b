/**
 * A WAL segment the system refuses to remove (chattr +i, an immutable attribute) during cleanup-wal: Node's
 * rm fell back to rmdir and answered ENOTDIR, so the error (and the open's, which finishes the cleanup) said
 * "a part of ... is a file where a directory was expected: check the path", a path that was fine. Removal is
 * an unlink: EPERM naming the segment, with the hint about attributes; once the attribute is gone the next
 * open finishes the cleanup and nothing is lost.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-immutable-segment-');

function chattrWorks(): boolean {
  const probe = path.join(fs.mkdtempSync('/tmp/bri-chattr-'), 'p');
  fs.writeFileSync(probe, '');
  try {
    execFileSync('chattr', ['+i', probe], { stdio: 'ignore' });
    execFileSync('chattr', ['-i', probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(path.dirname(probe), { recursive: true, force: true });
  }
}
const CAN = process.geteuid?.() === 0 && chattrWorks();
const held: string[] = [];
afterEach(() => {
  for (const f of held.splice(0)) execFileSync('chattr', ['-i', f], { stdio: 'ignore' });
});

describe.skipIf(!CAN)(`cleanup-wal with a segment the system will not remove${CAN ? '' : ' (skipped: needs root and chattr on the temp file system)'}`, () => {
  it('is EPERM naming the segment with the attributes hint (not ENOTDIR), and once it is removable the open finishes the cleanup, every document kept', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 1024 } });
    for (let i = 0; i < 60; i++) await db.set(`K${i}`, { i, pad: 'x'.repeat(60) });
    await db.close();
    expect((await runCli(['archive', 'create', '-d', dataDir, '-q'])).code).toBe(0);
    const segments = fs.readdirSync(path.join(dataDir, 'wal')).filter((n) => n.endsWith('.wal')).sort();
    const stuck = path.join(dataDir, 'wal', segments[Math.floor(segments.length / 2)]!);
    execFileSync('chattr', ['+i', stuck]);
    held.push(stuck);
    const r = await runCli(['archive', 'cleanup-wal', '-d', dataDir]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('EPERM');
    expect(r.stderr).not.toContain('ENOTDIR');
    expect(r.stderr).toMatch(/hint: .*attributes/);
    execFileSync('chattr', ['-i', stuck]);
    held.length = 0;
    const again = await createDB({ storeConfig: { dataDir } });
    try {
      for (let i = 0; i < 60; i++) expect(again.get(`K${i}`)).toMatchObject({ i });
    } finally {
      await again.close();
    }
  }, 120_000);
});
