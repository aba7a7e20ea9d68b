/**
 * A FIFO (named pipe) at a name where a data directory keeps a small file (snapshot.jss, bri.lock), in a
 * restore target, or at the only local archive: reading it waited for a writer for ever (createDB, data
 * verify|stats|dump, archive create, restore). Now refused as an IO_ERROR that names the file and what it is,
 * or (an archive) left unread. Each run is a child process killed after a while: a hang fails, it does not freeze.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliWithin, runScript, type ScriptResult } from '../support/script-child.js';
import { DB, WAIT, dataDirWithArchive, fifoAt } from '../support/fifo-dirs.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-fifo-kept-');

/** createDB on `dataDir` in a child: what it rejected with. */
async function openError(dataDir: string): Promise<ScriptResult & { error?: { code: string; message: string } }> {
  const out = await runScript(
    `import { createDB } from ${JSON.stringify(DB)};
    const r = await createDB({ storeConfig: { dataDir: ${JSON.stringify(dataDir)} } }).then(async (db) => { await db.close(); return {}; }, (e) => ({ code: e.code, message: e.message }));
    console.log(JSON.stringify(r));`,
    WAIT,
  );
  return { ...out, ...(out.stdout ? { error: JSON.parse(out.stdout) as { code: string; message: string } } : {}) };
}

const refusal = (file: string) => `error [IO_ERROR]: ${file} is a FIFO (named pipe), not a regular file`;

describe('a FIFO where a data directory keeps a file', () => {
  it('snapshot.jss: createDB, data verify, data stats and data dump say it is a FIFO instead of waiting', async () => {
    const dataDir = path.join(await tmp(), 'data');
    await dataDirWithArchive(dataDir);
    const snapshot = path.join(dataDir, 'snapshot.jss');
    fifoAt(snapshot);
    const runs = await Promise.all([['data', 'verify'], ['data', 'stats'], ['data', 'dump']].map((c) => runCliWithin([...c, '-d', dataDir], WAIT)));
    for (const r of runs) {
      expect(r.signal).toBeNull();
      expect(r.code).not.toBe(0);
      expect(r.stdout + r.stderr).toContain(`${snapshot} is a FIFO (named pipe), not a regular file`);
    }
    const opened = await openError(dataDir);
    expect(opened.signal).toBeNull();
    expect(opened.error).toEqual({ code: 'IO_ERROR', message: `${snapshot} is a FIFO (named pipe), not a regular file` });
  });

  it('bri.lock: createDB and archive create refuse it as IO_ERROR naming it; a read-only command goes on', async () => {
    const dataDir = path.join(await tmp(), 'data');
    await dataDirWithArchive(dataDir);
    const lock = path.join(dataDir, 'bri.lock');
    fifoAt(lock);
    const [create, verify] = await Promise.all([runCliWithin(['archive', 'create', '-d', dataDir], WAIT), runCliWithin(['data', 'verify', '-d', dataDir], WAIT)]);
    expect(create.signal).toBeNull();
    expect(create.stderr).toContain(refusal(lock));
    expect(create.stderr).toContain('move it away');
    expect(verify).toMatchObject({ signal: null, code: 0 });
    const opened = await openError(dataDir);
    expect(opened.signal).toBeNull();
    expect(opened.error).toEqual({ code: 'IO_ERROR', message: `${lock} is a FIFO (named pipe), not a regular file` });
  });

  it('bri.lock of a restore target: restore --force refuses it, naming it, and leaves the target as it was', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const target = path.join(root, 'target');
    await dataDirWithArchive(dataDir);
    await dataDirWithArchive(target);
    const lock = path.join(target, 'bri.lock');
    fifoAt(lock);
    const before = (await fsp.readdir(target)).sort();
    const r = await runCliWithin(['restore', 'latest', '-d', dataDir, '--target', target, '--force'], WAIT);
    expect(r.signal).toBeNull();
    expect(r.stderr).toContain(refusal(lock));
    expect((await fsp.readdir(target)).sort()).toEqual(before);
    expect((await fsp.stat(lock)).isFIFO()).toBe(true);
  });

  it('the only local archive: restore latest says it cannot be read instead of handing it to PAR2 repair', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    await dataDirWithArchive(dataDir);
    const archive = (await fsp.readdir(path.join(dataDir, 'archives'))).find((n) => n.endsWith('.bri'))!;
    fifoAt(path.join(dataDir, 'archives', archive));
    const r = await runCliWithin(['restore', 'latest', '-d', dataDir, '--target', path.join(root, 'restored')], WAIT);
    expect(r.signal).toBeNull();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`no readable archive: ${path.join(dataDir, 'archives', archive)}`);
  });
});
