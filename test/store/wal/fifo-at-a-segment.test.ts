/**
 * A FIFO (named pipe) under a WAL segment's name: the open that appends to it waited for a reader
 * for ever, on the main thread (even timers stopped). Now the rotation that reaches it is a typed
 * IO_ERROR naming it, and a directory that holds one is refused when it is opened.
 * Run in a child process, killed after a while: a hang is a failure, not a frozen test run.
 */
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScript } from '../../support/script-child.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-wal-fifo-');
const DB = path.resolve('src/db.ts');

describe('a FIFO where a WAL segment is expected', () => {
  it('at the next segment: the writes that reach it fail as IO_ERROR naming the FIFO, and close() returns', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const out = await runScript(
      `import { createDB } from ${JSON.stringify(DB)}; import { execFileSync } from 'node:child_process';
      const db = await createDB({ storeConfig: { dataDir: ${JSON.stringify(dataDir)}, walSegmentSize: 4096, snapshotOnClose: false } });
      execFileSync('mkfifo', [${JSON.stringify(path.join(dataDir, 'wal', '000001.wal'))}]);
      let failure = null;
      for (let i = 0; i < 100 && failure === null; i++) await db.set('K' + i, { v: 'x'.repeat(200) }).catch((e) => { failure = e; });
      const closed = await db.close().then(() => 'closed', (e) => e.code);
      console.log(JSON.stringify({ code: failure?.code, message: failure?.message, closed }));`,
      10_000,
    );
    expect(out.signal).toBeNull();
    const r = JSON.parse(out.stdout) as { code: string; message: string; closed: string };
    expect(r).toMatchObject({ code: 'IO_ERROR', message: expect.stringContaining('000001.wal is a FIFO (named pipe), not a regular file'), closed: expect.any(String) });
  });

  it('at the empty segment a clean close left: createDB refuses the directory, naming it, instead of waiting', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const fill = await runScript(
      `import { createDB } from ${JSON.stringify(DB)};
      const db = await createDB({ storeConfig: { dataDir: ${JSON.stringify(dataDir)} } });
      await db.set('A', { v: 1 }); await db.close();`,
      10_000,
    );
    expect(fill.code).toBe(0);
    const segments = (await fsp.readdir(path.join(dataDir, 'wal'))).sort();
    const last = path.join(dataDir, 'wal', segments[segments.length - 1]!);
    expect((await fsp.stat(last)).size).toBe(0);
    await fsp.rm(last);
    execFileSync('mkfifo', [last]);
    const out = await runScript(
      `import { createDB } from ${JSON.stringify(DB)};
      const r = await createDB({ storeConfig: { dataDir: ${JSON.stringify(dataDir)} } }).then(async (db) => { await db.close(); return { opened: true }; }, (e) => ({ code: e.code, message: e.message, hint: e.hint }));
      console.log(JSON.stringify(r));`,
      10_000,
    );
    expect(out.signal).toBeNull();
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 'IO_ERROR', message: `${last} is a FIFO (named pipe), not a regular file`, hint: expect.stringContaining('a WAL segment') });
  });
});
