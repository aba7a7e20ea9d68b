/**
 * `bri archive prune` while a remote cannot be listed (RETAIN2 1): it said "0 removed, N copies kept" and exited 0,
 * never naming the remote whose expired copies it could not prune, nor why the local copies past keepLocal stayed.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import type { RemoteConfig } from '../../src/remote/registry.js';
import { runCli } from '../support/cli.js';
import { useS3rver } from '../support/servers/s3rver.js';
import { useTempDirs } from '../support/temp-dirs.js';

const BUCKET = 'bri-prune-down';
const server = useS3rver(BUCKET);
const tmp = useTempDirs('bri-prune-down-');

/** Three archives on local and S3; a keepLocal 1 configuration whose S3 does not answer. */
async function archivedThenDown(): Promise<{ dataDir: string; down: string }> {
  const root = await tmp();
  const dataDir = path.join(root, 'data');
  const s3 = server.config('s3');
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes: [s3] } } });
  try {
    for (let round = 0; round < 3; round++) {
      await db.set(`K${round}`, { round });
      await db.archive.create();
    }
  } finally {
    await db.close();
  }
  const down = path.join(root, 'down.json');
  // Nothing listens on port 9 here: the remote is down.
  await fsp.writeFile(down, JSON.stringify({ remotes: [{ ...s3, endpoint: 'http://127.0.0.1:9', retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } } as RemoteConfig], keepLocal: 1 }));
  return { dataDir, down };
}

describe('archive prune with a remote down', () => {
  it('names the remote it could not list, says what it left undone there, and exits 41 (REMOTE_ERROR)', async () => {
    const { dataDir, down } = await archivedThenDown();
    const r = await runCli(['archive', 'prune', '-d', dataDir, '-c', down]);
    expect(r.code).toBe(41);
    expect(r.stderr).toContain('s3 could not be listed: its expired copies were not pruned, and local copies it may hold were kept [REMOTE_ERROR]');
    const json = await runCli(['archive', 'prune', '-d', dataDir, '-c', down, '--json']);
    expect(json.code).toBe(41);
    const report = JSON.parse(json.stdout);
    expect(report.removed).toEqual([]);
    expect(report.unreachable).toEqual([expect.objectContaining({ source: 's3', error: expect.objectContaining({ code: 'REMOTE_ERROR' }) })]);
  }, 60_000);

  it('a dry run with the remote down answers the same: the remote named, exit 41', async () => {
    const { dataDir, down } = await archivedThenDown();
    const r = await runCli(['archive', 'prune', '-d', dataDir, '-c', down, '--dry-run']);
    expect(r.code).toBe(41);
    expect(r.stderr).toContain('s3 could not be listed');
  }, 60_000);
});
