/**
 * A FIFO (named pipe) at bri-archive.json, at the archive directory's bri-archive-dir.json, at a seed
 * (archives/.seeds/*.jss.zst), at snapshot.jss for a first archive, or at a local remote's bri-archive-dir.json: reading it waited for a
 * writer for ever (archive create; createDB's event loop, with the local remote's, read synchronously).
 * Now refused as an IO_ERROR that names the file and what it is (readRegularFile), or taken as no owner
 * file. Each run is a child process killed after a while: a hang fails, it does not freeze the run.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliWithin, runScript } from '../../support/script-child.js';
import { DB, WAIT, dataDirWithArchive, fifoAt } from '../../support/fifo-dirs.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-fifo-owner-');

describe('a FIFO where the archive layer keeps a file', () => {
  it.each([['bri-archive.json'], ['archives/bri-archive-dir.json'], ['the seed']])('%s: archive create refuses it as IO_ERROR naming it instead of waiting', async (where) => {
    const dataDir = path.join(await tmp(), 'data');
    await dataDirWithArchive(dataDir);
    const seeds = path.join(dataDir, 'archives', '.seeds');
    const file = where === 'the seed' ? path.join(seeds, (await fsp.readdir(seeds)).find((n) => n.endsWith('.jss.zst'))!) : path.join(dataDir, where);
    fifoAt(file);
    const r = await runCliWithin(['archive', 'create', '-d', dataDir], WAIT);
    expect(r.signal).toBeNull();
    expect(r.stderr).toContain(`error [IO_ERROR]: ${file} is a FIFO (named pipe), not a regular file`);
  });

  it('snapshot.jss at the first archive (chain-start, start-state): archive create refuses it as IO_ERROR naming it', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const made = await runScript(
      `import { createDB } from ${JSON.stringify(DB)};
      const db = await createDB({ storeConfig: { dataDir: ${JSON.stringify(dataDir)} } });
      for (let i = 0; i < 5; i++) await db.set('K' + i, { v: i });
      await db.close();`,
      WAIT,
    );
    expect(made.code, made.stderr).toBe(0);
    const snapshot = path.join(dataDir, 'snapshot.jss');
    fifoAt(snapshot);
    const r = await runCliWithin(['archive', 'create', '-d', dataDir], WAIT);
    expect(r.signal).toBeNull();
    expect(r.stderr).toContain(`error [IO_ERROR]: ${snapshot} is a FIFO (named pipe), not a regular file`);
  });

  it("a local remote's bri-archive-dir.json: createDB answers (the event loop is never held)", async () => {
    const root = await tmp();
    const remote = path.join(root, 'nas');
    await fsp.mkdir(remote);
    fifoAt(path.join(remote, 'bri-archive-dir.json'));
    const out = await runScript(
      `import { createDB } from ${JSON.stringify(DB)};
      let ticks = 0; const timer = setInterval(() => ticks++, 50);
      const r = await createDB({ storeConfig: { dataDir: ${JSON.stringify(path.join(root, 'data'))}, archive: { remotes: [{ provider: 'local', path: ${JSON.stringify(remote)} }] } } })
        .then(async (db) => { await db.close(); return 'opened'; }, (e) => e.code);
      clearInterval(timer); console.log(r);`,
      WAIT,
    );
    expect(out.signal).toBeNull();
    expect(out.stdout.trim()).toMatch(/^(opened|[A-Z_]+)$/);
  });
});
