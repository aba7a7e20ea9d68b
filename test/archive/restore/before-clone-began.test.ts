/**
 * A moment before a clone began (it was cloned from an archive that starts past line 0, after that moment) is in the archives
 * of the instance it came from, not its own. TIMESTAMP_NOT_FOUND first said only "pick a time inside one of the
 * available ranges", though those archives were on the same sources; then its hint named that instance. The
 * state then is the same in both (the history they share): it is now restored from that instance's archives,
 * as a new instance, and the result says so.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import type { RemoteConfig } from '../../../src/remote/registry.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-before-clone-');
const tick = () => new Promise((r) => setTimeout(r, 15));

async function write(dataDir: string, key: string, remote: RemoteConfig): Promise<number> {
  const db = await createDB({ storeConfig: { dataDir, archive: { remotes: [remote], compression: { level: 1 } } } });
  try {
    await db.set(key, { v: key });
    await tick();
    const after = Date.now();
    await tick();
    await db.archive.create();
    return after;
  } finally {
    await db.close();
  }
}

describe('restore to a moment before a clone began', () => {
  it('restores it from the instance it was cloned from, as a new instance, and says so; --instance still names that one', async () => {
    const root = await tmp();
    const remote: RemoteConfig = { provider: 'local', name: 'nas', path: path.join(root, 'nas') };
    await fsp.mkdir(remote.path);
    const config = path.join(root, 'cfg.json');
    await fsp.writeFile(config, JSON.stringify({ archive: { remotes: [remote] } }));
    const p = path.join(root, 'p');
    const early = await write(p, 'A', remote);
    await write(p, 'B', remote);
    await write(p, 'D', remote);
    const pId = (await readArchiveState(p))!.instanceId;
    const c = path.join(root, 'c');
    const cloner = openRestore({ dataDir: p, config: { remotes: [remote] } });
    await cloner.clone({ targetDir: c }).finally(() => cloner.close());
    // Cloned from the newest archive, which starts at line 2: the moment after line 1 is before the clone began.
    expect((await readArchiveState(c))!.origin?.line).toBe(2);
    await write(c, 'C', remote);

    const x = path.join(root, 'x');
    const r = await runCli(['restore', 'to-timestamp', String(early), '-d', c, '-c', config, '--target', x, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { warnings: string[]; instanceId: string };
    expect(result.warnings.join('\n')).toContain(`restored from instance ${pId}, whose history it shares`);
    expect(result.instanceId).not.toBe(pId);
    const dump = await runCli(['data', 'dump', '-d', x]);
    expect(Object.keys((JSON.parse(dump.stdout) as { documents: object }).documents)).toEqual(['A']);
    const named = await runCli(['restore', 'to-timestamp', String(early), '-d', c, '-c', config, '--target', path.join(root, 'y'), '--instance', pId]);
    expect(named.code, named.stderr).toBe(0);
  }, 120_000);
});
