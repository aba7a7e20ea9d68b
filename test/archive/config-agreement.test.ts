/** Archive settings valid alone that cannot work together are refused at load (config.ts), never silently ineffective. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArchiveConfig } from '../../src/archive/config.js';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { makeTempDir } from '../support/fixtures.js';

describe('archive settings that must agree', () => {
  it('continuous.enabled with no remote is CONFIG_INVALID naming the key (was: accepted, nothing ever shipped)', async () => {
    for (const archive of [{ continuous: { enabled: true } }, { continuous: { enabled: true }, remotes: [] }]) {
      expect(() => parseArchiveConfig(archive)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/^archive\.continuous\.enabled: .*none is configured: add a remote/) }));
    }
    const dir = path.join(await makeTempDir('bri-agree-'), 'data');
    await expect(createDB({ storeConfig: { dataDir: dir, archive: { continuous: { enabled: true } } } })).rejects.toMatchObject({ code: 'CONFIG_INVALID', details: { key: 'continuous.enabled' } });
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('continuous.enabled with a remote, or off without one, is taken', () => {
    expect(parseArchiveConfig({ continuous: { enabled: true }, remote: { provider: 'local', path: '/mnt/nas' } }).continuous.enabled).toBe(true);
    expect(parseArchiveConfig({ continuous: { enabled: false } }).continuous.enabled).toBe(false);
  });

  it('bri --config with continuous shipping and no remote exits 2 naming the key', async () => {
    const root = await makeTempDir('bri-agree-');
    const dir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir: dir } });
    await db.set('A', { a: 1 });
    await db.close();
    const cfg = path.join(root, 'c.json');
    fs.writeFileSync(cfg, JSON.stringify({ continuous: { enabled: true } }));
    const r = await runCli(['archive', 'list', '-d', dir, '--config', cfg]);
    expect(r.stderr).toContain('archive.continuous.enabled');
    expect(r.code).toBe(2);
  });
});
