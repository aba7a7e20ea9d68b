/**
 * A source the listing already knows has no copy (keepLocal removed the local one) is not "passed
 * over": nothing was tried there, so a restore says nothing of it. Only an answer with no good copy
 * names it among the sources.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const root = useTempDirs('bri-absent-copy-');

describe('a copy the listing knows is absent', () => {
  it('is not said as passed over by a restore from the remote that holds it', async () => {
    const r = await root();
    const dataDir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const archive = { keepLocal: 1, remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], compression: { level: 1 } };
    const config = path.join(r, 'archive.json');
    await fsp.writeFile(config, JSON.stringify(archive));
    const db = await createDB({ storeConfig: { dataDir, archive } });
    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      await db.set(`K${round}`, { round });
      ids.push((await db.archive.create()).archiveId);
    }
    await db.close();
    await expect(fsp.access(path.join(dataDir, 'archives', `${ids[0]}.bri`))).rejects.toThrow();
    const restored = await runCli(['restore', 'from', ids[0]!, '-d', dataDir, '-c', config, '--target', path.join(r, 'restored')]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stderr + restored.stdout).not.toMatch(/local: has no copy|passed over/);
  });
});
