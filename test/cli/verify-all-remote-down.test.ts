/** `archive verify --all` with a remote down exited 1, where prune, get and delete say the remote's code (40/41) for the same remote. */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-verify-all-down-');

describe('bri archive verify --all with a remote down', () => {
  it('verifies what it can read and exits with the code of the error of the remote (as prune does), not 1', async () => {
    const r = await tmp();
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const dataDir = path.join(r, 'data');
    const archive = { compression: { level: 1 }, remotes: [{ provider: 'local' as const, name: 'nas', path: nas }] };
    const cfg = path.join(r, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ archive }));
    const db = await createDB({ storeConfig: { dataDir, archive } });
    await db.set('A', { v: 1 });
    await db.archive.create();
    await db.close();
    await fsp.rename(nas, `${nas}.away`);
    const res = await runCli(['archive', 'verify', '--all', '-d', dataDir, '-c', cfg, '--json']);
    // The remote's own error class: 40 (REMOTE_NOT_FOUND: its directory is gone) here, 41 for one that does not answer.
    expect(res.code, res.stderr).toBe(40);
    const out = JSON.parse(res.stdout) as { ok: boolean; archives: Array<{ ok: boolean }>; unreachable: Array<{ source: string }> };
    expect(out.ok).toBe(false);
    expect(out.archives.every((a) => a.ok)).toBe(true);
    expect(out.unreachable.map((u) => u.source)).toEqual(['nas']);
    const pruned = await runCli(['archive', 'prune', '-d', dataDir, '-c', cfg]);
    expect(pruned.code).toBe(res.code);
  });
});
