/**
 * A remote named as another provider (a NAS, provider local, named 's3') took the place of every S3 remote in
 * restoreSources and --source ('s3' there means the remote of that name first): a restore that looked only
 * at the NAS said there was no archive and to create one, while the S3 remote held them. Refused when the
 * configuration is read, naming the key; and "no archives" no longer tells someone recovering to create one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-remote-named-provider-');

describe('a remote named as a provider', () => {
  for (const name of ['s3', 'gcs', 'azure']) {
    it(`a local remote named '${name}' is CONFIG_INVALID naming remotes[0].name; nothing is opened`, async () => {
      const root = await tmp();
      const nas = path.join(root, 'nas');
      fs.mkdirSync(nas);
      const dataDir = path.join(root, 'data');
      await expect(createDB({ storeConfig: { dataDir, archive: { remotes: [{ provider: 'local', name, path: nas }] } } })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining(`archive.remotes[0].name: '${name}' is the name of a provider`),
      });
      expect(fs.existsSync(path.join(dataDir, 'bri.lock'))).toBe(false);
    });
  }

  it("other names are still taken; 'no archives' says where to point the restore", async () => {
    const root = await tmp();
    const nas = path.join(root, 'nas');
    fs.mkdirSync(nas);
    const config = path.join(root, 'c.json');
    fs.writeFileSync(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'local-nas', path: nas }] }));
    const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), archive: { remotes: [{ provider: 'local', name: 'nas', path: nas }] } } });
    await db.close();
    const r = await runCli(['restore', 'latest', '-d', path.join(root, 'empty'), '-c', config, '--target', path.join(root, 't')]);
    expect(r.code, r.stderr).toBe(20);
    expect(r.stderr).toContain('ARCHIVE_NOT_FOUND');
    expect(r.stderr).toMatch(/hint: If this database was archived, point --archive-dir at its archive directory, or --config at the remotes/);
  });
});
