/**
 * An empty object on S3 (or an empty file on a local remote) named like an archive is no archive:
 * listed as an unreadable copy that says it is empty, like any other object that is none; it never
 * reaches a byte-range read (whose end would be -1, a USAGE error in every listing, verify --all
 * and restore). Real s3rver and a local directory, real CLI.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { createRemote, type RemoteConfig } from '../../src/remote/registry.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { useS3rver } from '../support/servers/s3rver.js';

const server = useS3rver('bri-empty');
const tempDir = useTempDirs('bri-empty-');

const EMPTY_ID = '20260101T000000000Z-deadbeef';

describe('an empty object named like an archive', () => {
  it('archive list, verify --all and restore say it is empty (not an archive), and the real archive is listed and restored', async () => {
    const root = await tempDir();
    const dataDir = path.join(root, 'data');
    const nasRoot = path.join(root, 'nas');
    await fsp.mkdir(nasRoot);
    const s3 = server.config();
    const nas: RemoteConfig = { provider: 'local', name: 'nas', path: nasRoot, prefix: 'p' };
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes: [s3, nas] } } });
    let archiveId: string;
    try {
      for (let i = 0; i < 20; i++) await db.set(`U_${i}`, { i });
      archiveId = (await db.archive.create({ level: 1 })).archiveId;
    } finally {
      await db.close();
    }
    const empty = path.join(root, 'empty.bri');
    await fsp.writeFile(empty, '');
    const store = createRemote(s3);
    await store.put(`archives/${EMPTY_ID}.bri`, { path: empty }, { size: 0, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' });
    await store.close();
    await fsp.writeFile(path.join(nasRoot, 'p', 'archives', `${EMPTY_ID}.bri`), '');
    const config = path.join(root, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [s3, nas] }));

    const list = await runCli(['archive', 'list', '-d', dataDir, '-c', config, '--json']);
    const listed = JSON.parse(list.stdout) as { archives: Array<{ archiveId: string }>; unreadable: Array<{ source: string; location: string; error: { code: string; message: string } }> };
    expect(listed.unreadable.map((u) => [u.source, u.error.code]).sort()).toEqual([
      ['nas', 'ARCHIVE_INVALID'],
      ['s3', 'ARCHIVE_INVALID'],
    ]);
    for (const u of listed.unreadable) expect(u.error.message).toMatch(/is empty \(0 bytes\): not an archive/);
    expect(JSON.stringify(listed)).toContain(archiveId);

    const verify = await runCli(['archive', 'verify', '--all', '-d', dataDir, '-c', config]);
    expect(verify.stdout + verify.stderr).toContain('is empty (0 bytes)');
    expect(verify.stdout + verify.stderr).not.toMatch(/range end|USAGE/);

    const restore = await runCli(['restore', 'latest', '-d', path.join(root, 'restored'), '-c', config]);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stdout + restore.stderr).not.toMatch(/range end|USAGE/);
  }, 60_000);
});
