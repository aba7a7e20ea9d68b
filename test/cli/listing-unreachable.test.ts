/**
 * A listing of a source that cannot be read is not "no archives": `bri archive list -s nas` and
 * `bri restore list -s nas` with nas unreachable exit with its error's code (the reason on stderr and
 * in the JSON); a listing that read some source is an answer (exit 0, the others said).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-cli-unreachable-');

describe('listing an unreachable source', () => {
  it('archive list and restore list: the source alone fails with its code; with every source, the readable ones answer', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.set('K', { v: 1 });
    await db.archive.create();
    await db.close();
    const config = path.join(r, 'c.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: nas }] }));
    // The mount is gone.
    await fsp.rm(nas, { recursive: true });
    for (const cmd of [['archive', 'list'], ['restore', 'list']]) {
      for (const json of [false, true]) {
        const alone = await runCli([...cmd, '-s', 'nas', '-d', dataDir, '-c', config, ...(json ? ['--json'] : [])]);
        expect(alone.code, `${cmd.join(' ')} -s nas: ${alone.stderr}`).not.toBe(0);
        expect(alone.code).not.toBe(2);
        if (json) expect(JSON.parse(alone.stdout).unreachable).toEqual([expect.objectContaining({ source: 'nas' })]);
        else expect(alone.stderr).toMatch(/unreachable: nas/);
        const every = await runCli([...cmd, '-d', dataDir, '-c', config]);
        expect(every.code, `${cmd.join(' ')}: ${every.stderr}`).toBe(0);
        expect(every.stderr).toMatch(/unreachable: nas/);
      }
    }
  }, 60_000);
});
