/**
 * `bri data verify` and `bri data stats` on a data directory whose WAL cleanup stopped after its commit
 * point (the new snapshot is in place, wal-cleanup.json is still there; the next open finishes it):
 * they read it as that open will leave it, and say what they say once it has.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { REPO_ROOT } from '../support/child.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-verify-pending-');
const NTH = path.join(REPO_ROOT, 'test/support/nth-call-fault.ts');

interface Figures {
  totalLines: number;
  linesToReplay: number;
  snapshot: { walLine: number } | null;
}

async function figures(dataDir: string): Promise<{ verify: { code: number | null; out: string }; stats: Figures }> {
  const v = await runCli(['data', 'verify', '-d', dataDir]);
  const s = await runCli(['data', 'stats', '-d', dataDir, '--json']);
  expect(s.code).toBe(0);
  return { verify: { code: v.code, out: v.stdout + v.stderr }, stats: JSON.parse(s.stdout) as Figures };
}

describe('bri data verify and data stats with a WAL cleanup pending after its commit point', () => {
  it('call the directory whole and count the lines to replay as the open that finishes the cleanup will', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 4 * 1024, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 200; i++) await db.set(`D_${i}`, { i, pad: 'p'.repeat(40) });
    await db.archive.create();
    for (let i = 200; i < 230; i++) await db.set(`D_${i}`, { i });
    await db.close();
    // The raise of removedLines (after the snapshot's commit) fails: the journal stays for the next open.
    const fault = { fn: 'rename', arg: path.join(dataDir, 'bri-archive.json.tmp'), code: 'EIO', nth: 1 };
    const cleanup = await runCli(['archive', 'cleanup-wal', '-d', dataDir], { BRI_NTH_FAULT: JSON.stringify(fault) }, { preload: NTH });
    expect(cleanup.code).not.toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'wal-cleanup.json'))).toBe(true);

    const pending = await figures(dataDir);
    expect(pending.verify.code).toBe(0);
    expect(pending.verify.out).not.toContain('another database');
    expect(pending.stats.linesToReplay).toBe(0);

    const reopened = await createDB({ storeConfig: { dataDir } });
    await reopened.close();
    expect(fs.existsSync(path.join(dataDir, 'wal-cleanup.json'))).toBe(false);
    const finished = await figures(dataDir);
    expect(finished.verify.code).toBe(0);
    expect(pending.stats).toMatchObject({ totalLines: finished.stats.totalLines, linesToReplay: finished.stats.linesToReplay, snapshot: { walLine: finished.stats.snapshot!.walLine } });
  });
});
