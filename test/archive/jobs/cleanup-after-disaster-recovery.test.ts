/**
 * WAL cleanup after a disaster recovery: the archives then live on the remote only (the one the
 * restore fetched, and those keepLocal pruned), and they still make the WAL they hold removable once
 * each remote's copy is confirmed. When cleanup stops, it says why, with absolute line numbers.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB, type BriDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { listSegments } from '../../../src/store/layout.js';
import { readManifest } from '../../../src/archive/package/reader.js';
import { runCli } from '../../support/cli.js';
import { damageWalMember } from '../../support/damage-member.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const root = useTempDirs('bri-dr-cleanup-');

const archiveConfig = (nas: string) => ({ remotes: [{ provider: 'local', name: 'nas', path: nas }], cleanupWal: true, keepLocal: 1, compression: { level: 1 } });
const open = (dataDir: string, nas: string) => createDB({ storeConfig: { dataDir, walSegmentSize: 4096, snapshotOnClose: false, archive: archiveConfig(nas) } });

async function writeAndArchive(db: BriDB, tag: string, rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < 30; i++) await db.set(`K_${i}`, { tag, round, i, pad: 'x'.repeat(100) });
    const made = await db.archive.create();
    if (made.cleanup && 'error' in made.cleanup) throw made.cleanup.error;
  }
}

/** A machine archived to the nas, lost with its data directory, restored from the nas alone. */
async function recoveredMachine(): Promise<{ dir: string; data: string; nas: string; cfg: string }> {
  const dir = await root();
  const data = path.join(dir, 'data');
  const nas = path.join(dir, 'nas');
  const cfg = path.join(dir, 'cfg.json');
  await fsp.mkdir(nas);
  await fsp.writeFile(cfg, JSON.stringify({ archive: archiveConfig(nas) }));
  const db = await open(data, nas);
  await writeAndArchive(db, 'a', 3);
  await db.close();
  await fsp.rm(data, { recursive: true });
  const restored = await runCli(['restore', 'latest', '-d', data, '-c', cfg]);
  expect(restored.code, restored.stderr).toBe(0);
  return { dir, data, nas, cfg };
}

describe('WAL cleanup after a disaster recovery from a remote', () => {
  it('removes the segments of archives held only by the remote (fetched by the restore, or pruned locally by keepLocal), and the remote alone still restores the data', async () => {
    const { dir, data, nas, cfg } = await recoveredMachine();
    const restoredFrom = (await readArchiveState(data))!.removedLines;
    const db = await open(data, nas);
    await writeAndArchive(db, 'b', 3);
    const want = toPlainState(db.state);
    await db.close();

    const state = (await readArchiveState(data))!;
    expect(state.removedLines).toBeGreaterThan(restoredFrom);
    expect((await listSegments(data)).length).toBeLessThanOrEqual(3);
    const cleanup = await runCli(['archive', 'cleanup-wal', '-d', data, '-c', cfg, '--json']);
    expect(cleanup.code, cleanup.stderr).toBe(0);
    const report = JSON.parse(cleanup.stdout) as { safeLine: number; stoppedBy: unknown };
    expect(report.safeLine).toBe(state.last!.endLine);
    expect(report.stoppedBy).toBeNull();

    const again = path.join(dir, 'again');
    const restored = await runCli(['restore', 'latest', '-d', again, '-c', cfg]);
    expect(restored.code, restored.stderr).toBe(0);
    const back = await open(again, nas);
    expect(toPlainState(back.state)).toEqual(want);
    await back.close();
  }, 120_000);

  it('says what stops it: the archive whose remote copy is not confirmed, in absolute lines, with what to do', async () => {
    const { data, nas, cfg } = await recoveredMachine();
    const db = await open(data, nas);
    for (let i = 0; i < 30; i++) await db.set(`K_${i}`, { tag: 'c', i });
    await db.close();
    // The archive the restore came from: its only copy goes, so nothing vouches for the lines on disk.
    const first = (await readArchiveState(data))!.removedLines;
    const files = (await fsp.readdir(path.join(nas, 'archives'))).filter((f) => f.endsWith('.bri')).map((f) => path.join(nas, 'archives', f));
    const manifests = await Promise.all(files.map(async (file) => ({ file, manifest: await readManifest(file) })));
    const holding = manifests.find(({ manifest: m }) => m.timeRange.walLines.start <= first && m.timeRange.walLines.end > first)!;
    // Its manifest still reads (the archive is listed); a member's bytes do not match it.
    await damageWalMember(holding.file, holding.manifest, 16, 0);

    const json = await runCli(['archive', 'cleanup-wal', '-d', data, '-c', cfg, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as { segments: string[]; safeLine: number; firstLineOnDisk: number; stoppedBy: { kind: string; archiveId?: string } };
    expect(report.segments).toEqual([]);
    expect(report.firstLineOnDisk).toBe(first);
    expect(report.stoppedBy.kind).toBe('not-stored-everywhere');
    expect(report.stoppedBy.archiveId).toBe(holding.manifest.archiveId);
    // Which copy stops it is named: the remote's, which cannot be read whole and checked.
    expect((report.stoppedBy as { message?: string }).message).toMatch(/copy on nas could not be read whole/);
    const text = await runCli(['archive', 'cleanup-wal', '-d', data, '-c', cfg]);
    expect(text.stdout).toContain(`through absolute line ${first}`);
    expect(text.stdout).toContain(`stopped there: archive ${holding.manifest.archiveId}`);
    expect(text.stdout).toContain('bri archive upload');
  }, 120_000);
});
