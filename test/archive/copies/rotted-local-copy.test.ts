/**
 * A local archive file that rotted in place (same size, same inode, its manifest still readable) is
 * no copy to rely on: nothing goes on its word. WAL cleanup keeps the lines it holds, prune keeps a
 * remote's copy that would expire because the local one stays, `archive delete -s nas` refuses to
 * remove the last whole copy, and an upload never sends it (over a whole remote copy, or at all).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArchiveApi, offlineHost } from '../../../src/archive/archive-api.js';
import { createDB } from '../../../src/db.js';
import { listSegments } from '../../../src/store/layout.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const root = useTempDirs('bri-rotted-local-');

/** Flips bytes in place past the manifest: the members' data (and PAR2 beyond repair), the file's size kept. */
async function rot(file: string): Promise<void> {
  const fh = await fsp.open(file, 'r+');
  try {
    const size = (await fh.stat()).size;
    const at = Math.min(3000, Math.floor(size / 3));
    const buf = Buffer.alloc(size - at);
    await fh.read(buf, 0, buf.length, at);
    for (let i = 0; i < buf.length; i++) buf[i]! ^= 0x5a;
    await fh.write(buf, 0, buf.length, at);
  } finally {
    await fh.close();
  }
}

/** Three archives of 30 lines each (A, B, C), each in a WAL segment of its own; with a local remote `nas` when asked. */
async function threeArchives(withRemote: boolean): Promise<{ r: string; dataDir: string; nas: string; config: string; ids: string[]; file: (id: string) => string }> {
  const r = await root();
  const dataDir = path.join(r, 'data');
  const nas = path.join(r, 'nas');
  await fsp.mkdir(nas);
  const remotes = withRemote ? [{ provider: 'local' as const, name: 'nas', path: nas }] : [];
  const config = path.join(r, 'archive.json');
  await fsp.writeFile(config, JSON.stringify({ remotes }));
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes, compression: { level: 1 } } } });
  const ids: string[] = [];
  try {
    for (const p of ['A', 'B', 'C']) {
      for (let i = 0; i < 30; i++) await db.set(`${p}_${i}`, { p, i, body: 'y'.repeat(200) });
      ids.push((await db.archive.create()).archiveId);
    }
  } finally {
    await db.close();
  }
  return { r, dataDir, nas, config, ids, file: (id) => path.join(dataDir, 'archives', `${id}.bri`) };
}

describe('a rotted local copy is relied on for nothing', () => {
  it('WAL cleanup keeps the lines of an archive whose local copy rotted (its only copy), and removes them once it is whole again', async () => {
    const { dataDir, config, ids, file } = await threeArchives(false);
    const whole = await fsp.readFile(file(ids[1]!));
    await rot(file(ids[1]!));
    const cleaned = await runCli(['archive', 'cleanup-wal', '-d', dataDir, '-c', config, '--json']);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    // A's lines may go (A is whole); B's lines, and every line after them, stay in wal/.
    const state = JSON.parse(await fsp.readFile(path.join(dataDir, 'bri-archive.json'), 'utf8')) as { removedLines?: number };
    expect(state.removedLines ?? 0).toBeLessThanOrEqual(30);
    expect((await listSegments(dataDir)).length).toBeGreaterThan(0);
    const api = new ArchiveApi(offlineHost(dataDir, undefined), { compression: { level: 1 } });
    await fsp.writeFile(file(ids[1]!), whole);
    await api.cleanupWal();
    const again = JSON.parse(await fsp.readFile(path.join(dataDir, 'bri-archive.json'), 'utf8')) as { removedLines?: number };
    expect(again.removedLines).toBeGreaterThan(30);
  });

  it("prune keeps a remote's copy that expires by its own shorter retention when the local copy that stays has rotted", async () => {
    const { dataDir, nas, ids, file } = await threeArchives(true);
    await rot(file(ids[0]!));
    const remotes = [{ provider: 'local' as const, name: 'nas', path: nas, retentionDays: 1 }];
    const later = new Date(Date.now() + 3 * 86_400_000);
    const report = await new ArchiveApi(offlineHost(dataDir, undefined), { retentionDays: 30, remotes }).prune({ now: later });
    expect(report.removed.filter((d) => d.archiveId === ids[0])).toEqual([]);
    expect(report.kept).toContainEqual(expect.objectContaining({ archiveId: ids[0], source: 'nas', reason: 'only-copy' }));
    expect(fs.existsSync(path.join(nas, 'archives', `${ids[0]}.bri`))).toBe(true);
    // A whole local copy is relied on as before: B's nas copy goes.
    expect(report.removed).toContainEqual(expect.objectContaining({ archiveId: ids[1], source: 'nas' }));
  });

  it('archive delete -s nas refuses to remove the last whole copy of lines no longer in wal/ when the local copy rotted', async () => {
    const { dataDir, nas, config, ids, file } = await threeArchives(true);
    const cleaned = await runCli(['archive', 'cleanup-wal', '-d', dataDir, '-c', config]);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    await rot(file(ids[0]!));
    const del = await runCli(['archive', 'delete', ids[0]!, '-s', 'nas', '-d', dataDir, '-c', config]);
    expect(del.code).toBe(2);
    expect(del.stderr).toMatch(/no other copy of archive \S+ is whole[\s\S]*would be lost/);
    expect(fs.existsSync(path.join(nas, 'archives', `${ids[0]}.bri`))).toBe(true);
  });

  it('archive upload never sends a rotted local copy: not over a whole remote copy (its record lost), nor where there is none', async () => {
    const { dataDir, nas, config, ids, file } = await threeArchives(true);
    const remoteCopy = path.join(nas, 'archives', `${ids[0]}.bri`);
    const good = await fsp.readFile(remoteCopy);
    await fsp.rm(path.join(dataDir, 'archives', '.copies'), { recursive: true, force: true });
    await rot(file(ids[0]!));
    const up = await runCli(['archive', 'upload', ids[0]!, '-d', dataDir, '-c', config]);
    // The archive's failure (ARCHIVE_CORRUPTED, 21), not the remote's (41).
    expect(up.code).toBe(21);
    expect(up.stderr).toMatch(/local copy of archive \S+ is damaged[\s\S]*not uploaded/);
    expect((await fsp.readFile(remoteCopy)).equals(good)).toBe(true);
    // Nowhere at all: a new remote gets nothing from it either.
    const fresh = path.join(path.dirname(nas), 'fresh');
    await fsp.mkdir(fresh);
    await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'fresh', path: fresh }] }));
    const none = await runCli(['archive', 'upload', ids[0]!, '-d', dataDir, '-c', config]);
    expect(none.code).not.toBe(0);
    expect(fs.existsSync(path.join(fresh, 'archives', `${ids[0]}.bri`))).toBe(false);
  });

  it('archive stats counts archives that cannot be read, not their copies', async () => {
    const { dataDir, nas, config, ids, file } = await threeArchives(true);
    for (const f of [file(ids[1]!), path.join(nas, 'archives', `${ids[1]}.bri`)]) await fsp.truncate(f, 1500);
    const stats = await runCli(['archive', 'stats', '-d', dataDir, '-c', config]);
    expect(stats.stdout).toMatch(/among the archives that can be read \(1 cannot, 2 copies\)/);
  });

  it('archive delete of every copy of lines no longer in wal/ says it deletes every copy (not "the only copy", and no upload hint)', async () => {
    const { dataDir, config, ids } = await threeArchives(true);
    expect((await runCli(['archive', 'cleanup-wal', '-d', dataDir, '-c', config])).code).toBe(0);
    const del = await runCli(['archive', 'delete', ids[0]!, '-d', dataDir, '-c', config]);
    expect(del.code).toBe(2);
    expect(del.stderr).toMatch(/this deletes every copy of archive \S+ \(local, nas\)/);
    expect(del.stderr).not.toMatch(/only copy|archive upload/);
  });
});

