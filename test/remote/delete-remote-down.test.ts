/**
 * `bri archive delete` while a remote cannot be reached (RETAIN 3): deleting the local copy said "this is the only
 * copy ... keep another copy first" although S3 held one it could not ask; deleting every copy said "deleted local",
 * exit 0, and left S3's copy to come back in the next listing.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import type { RemoteConfig } from '../../src/remote/registry.js';
import { readArchiveState } from '../../src/store/archive-state.js';
import { runCli } from '../support/cli.js';
import { useS3rver } from '../support/servers/s3rver.js';
import { useTempDirs } from '../support/temp-dirs.js';

const BUCKET = 'bri-delete-down';
const server = useS3rver(BUCKET);
const tmp = useTempDirs('bri-delete-down-');

/** Three archives on local and S3, their WAL cleaned up; a configuration whose S3 answers, and one whose S3 does not. */
async function archived(): Promise<{ dataDir: string; ids: string[]; up: string; down: string }> {
  const root = await tmp();
  const dataDir = path.join(root, 'data');
  const s3 = server.config('s3');
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes: [s3], cleanupWal: true } } });
  const ids: string[] = [];
  try {
    for (let round = 0; round < 3; round++) {
      await db.set(`K${round}`, { round });
      ids.push((await db.archive.create()).archiveId);
    }
  } finally {
    await db.close();
  }
  const up = path.join(root, 'up.json');
  const down = path.join(root, 'down.json');
  await fsp.writeFile(up, JSON.stringify({ remotes: [s3] }));
  // Nothing listens on port 9 here: the remote is down.
  await fsp.writeFile(down, JSON.stringify({ remotes: [{ ...s3, endpoint: 'http://127.0.0.1:9', retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } } as RemoteConfig] }));
  return { dataDir, ids, up, down };
}

describe('archive delete with a remote down', () => {
  it('deleting the local copy of lines wal/ no longer holds names the unreachable remote (REMOTE_ERROR, 41), not "the only copy"', async () => {
    const { dataDir, ids, down } = await archived();
    expect((await readArchiveState(dataDir))!.removedLines).toBeGreaterThan(0);
    const r = await runCli(['archive', 'delete', ids[0]!, '-s', 'local', '-d', dataDir, '-c', down]);
    expect(r.code).toBe(41);
    expect(r.stderr).toContain('s3 could not be reached');
    expect(r.stderr).not.toContain('only copy');
    expect(r.stderr).not.toContain('keep another copy first');
    expect(fs.existsSync(path.join(dataDir, 'archives', `${ids[0]}.bri`))).toBe(true);
  }, 60_000);

  it('deleting every copy deletes none and exits 41 naming the remote whose copy would stay', async () => {
    const { dataDir, ids, up, down } = await archived();
    const r = await runCli(['archive', 'delete', ids[1]!, '-d', dataDir, '-c', down, '--force']);
    expect(r.code).toBe(41);
    expect(r.stderr).toContain(`archive ${ids[1]} was not deleted: s3 could not be reached`);
    expect(r.stdout).not.toContain('deleted local');
    expect(fs.existsSync(path.join(dataDir, 'archives', `${ids[1]}.bri`))).toBe(true);
    const json = await runCli(['archive', 'delete', ids[1]!, '-d', dataDir, '-c', down, '--json']);
    expect(json.code).toBe(41);
    // S3 back: both copies are still there, nothing half-deleted.
    const listed = JSON.parse((await runCli(['archive', 'list', '-d', dataDir, '-c', up, '--json'])).stdout);
    const entry = (listed.archives ?? listed).find((a: { manifest: { archiveId: string } }) => a.manifest.archiveId === ids[1]);
    expect(entry.copies.map((c: { source: string }) => c.source).sort()).toEqual(['local', 's3']);
    // The reachable copy alone can still go, on purpose.
    const localOnly = await runCli(['archive', 'delete', ids[1]!, '-s', 'local', '-d', dataDir, '-c', down, '--force']);
    expect(localOnly.code).toBe(0);
  }, 60_000);
});
