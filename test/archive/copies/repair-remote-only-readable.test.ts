/**
 * `archive repair <id>` of an archive whose only copies are remote and readable: not ARCHIVE_NOT_FOUND (exit 20) for
 * an archive listed on nas, but USAGE naming where its copies are and the download that fetches one into the archive
 * directory (repairing it on the way); that command works.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('bri-repair-remote-only-');

describe('archive repair of an archive held only by a remote', () => {
  it('says its copies are on nas and names the download into the archive directory, which then works', async () => {
    const root = await tempDir();
    const dataDir = path.join(root, 'data');
    const nas = path.join(root, 'nas');
    await fsp.mkdir(nas);
    const remotes = [{ provider: 'local' as const, name: 'nas', path: nas }];
    const config = path.join(root, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ remotes }));
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes } } });
    let id: string;
    try {
      for (let i = 0; i < 20; i++) await db.set(`doc${i}`, { i });
      id = (await db.archive.create()).archiveId;
    } finally {
      await db.close();
    }
    const archiveDir = path.join(dataDir, 'archives');
    await fsp.rm(path.join(archiveDir, `${id}.bri`));
    const args = ['-d', dataDir, '-c', config];

    const r = await runCli(['archive', 'repair', id, ...args]);
    expect(r.code, r.stderr).not.toBe(20);
    expect(r.stderr).not.toMatch(/ARCHIVE_NOT_FOUND/);
    expect(r.stderr).toContain('its copies are on nas');
    const command = /`bri (archive download [^`]+)`/.exec(r.stderr)?.[1];
    expect(command).toBe(`archive download ${id} ${archiveDir}${path.sep} --source nas`);
    const fetched = await runCli([...command!.split(' '), ...args]);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect((await fsp.stat(path.join(archiveDir, `${id}.bri`))).isFile()).toBe(true);
    expect((await runCli(['archive', 'verify', id, ...args])).code).toBe(0);
  }, 60_000);
});
