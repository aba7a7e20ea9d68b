/**
 * `bri restore latest` with a remote that accepts the connection and never answers, and the archive in the
 * local archive directory: the remote's listing held the restore for 30 connections (21 s with idleMs 1000;
 * the SDK's retries inside each of ours). It now holds it for one retry budget (retry.maxAttempts
 * connections), the restore comes from the local copy, and the remote is said to be unreadable.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { startBlackHole, type BlackHole } from '../support/servers/hung-servers.js';
import { S3RVER_CREDENTIALS } from '../support/servers/s3rver.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-silent-restore-');
let hole: BlackHole;
beforeAll(async () => {
  hole = await startBlackHole();
});
afterAll(async () => {
  await hole?.close();
});

describe('restore latest with a remote that never answers', () => {
  it('restores from the local copy after one retry budget of the silent remote (retry.maxAttempts connections), naming it as unreadable', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('K', { v: 1 });
    await db.archive.create();
    await db.close();
    const config = path.join(root, 'bri.json');
    const s3 = { provider: 's3', name: 's3', bucket: 'bri', endpoint: hole.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS }, retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 }, timeouts: { connectMs: 1000, idleMs: 1000 } };
    await fsp.writeFile(config, JSON.stringify({ archive: { remotes: [s3] } }));
    const before = hole.accepted();
    const target = path.join(root, 'restored');
    const r = await runCli(['restore', 'latest', '-d', dataDir, '--config', config, '--target', target]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/copy on local/);
    expect(r.stderr).toMatch(/s3 could not be read/);
    expect(hole.accepted() - before).toBe(2);
    expect(fs.existsSync(target)).toBe(true);
  }, 120_000);
});
