/**
 * What `bri archive create` says of an upload that failed because the remote is gone (an unmounted NAS, a
 * deleted bucket): "it has no local copy" was printed for an archive whose local copy is right there (the
 * remote's own "missing: directory" was read as the archive's local copy missing).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-upload-text-');

describe('bri archive create with the remote gone', () => {
  it('says the archive is kept locally (it is), with the remote error and exit 41', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const cfg = path.join(r, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ archive: { compression: { level: 1 }, remotes: [{ provider: 'local', name: 'nas', path: path.join(r, 'nas-unmounted') }] } }));
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('A', { v: 1 });
    await db.close();
    const res = await runCli(['archive', 'create', '-d', dataDir, '-c', cfg]);
    expect(res.code).toBe(41);
    expect(res.stderr).toMatch(/upload of \S+ to nas FAILED: \[REMOTE_NOT_FOUND\]/);
    expect(res.stderr).toContain('the archive is kept locally and is not counted as stored on nas');
    expect(res.stderr).not.toContain('no local copy');
    expect(res.stderr).toMatch(/mount it/);
    const bris = (await fsp.readdir(path.join(dataDir, 'archives'))).filter((f) => f.endsWith('.bri'));
    expect(bris).toHaveLength(1);
  });
});
