/**
 * `verifyAll` in a process out of file handles (EMFILE: its RLIMIT_NOFILE lowered with prlimit, then every handle
 * but two taken). A copy that could not be verified at all (the member decoder thread could not start) was said of
 * source "any source" with file null and no hint, and then the same local copy was verified again after it: every
 * archive was listed twice, once under a source that does not exist. Now each copy is one entry, named by its
 * source and file, and the local copy's error carries its hint (raise `ulimit -n`). A remote-only archive (its
 * local copy deleted) is listed once per remote copy, never under "any source".
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScript } from '../support/script-child.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-verify-emfile-');
const DB = path.resolve('src/db.ts');

interface Entry {
  archiveId: string | null;
  source: string;
  file: string | null;
  ok: boolean;
  error: { code: string; message: string; hint?: string } | null;
}

describe.runIf(process.platform === 'linux')('verifyAll out of file handles (EMFILE)', () => {
  it('one entry per copy, named by its source and file, the local error with its ulimit hint', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const usb = path.join(root, 'usb');
    const out = await runScript(
      `import { createDB } from ${JSON.stringify(DB)};
      import { execFileSync } from 'node:child_process';
      import * as fs from 'node:fs';
      fs.mkdirSync(${JSON.stringify(usb)}, { recursive: true });
      const db = await createDB({ storeConfig: { dataDir: ${JSON.stringify(dataDir)}, fsyncMode: 'batched', archive: { remotes: [{ provider: 'local', name: 'usb', path: ${JSON.stringify(usb)} }] } } });
      const ids = [];
      for (let i = 0; i < 3; i++) {
        await db.set('K' + i, { i });
        ids.push((await db.archive.create()).archiveId);
      }
      await db.archive.delete(ids[1], { source: 'local' });
      await db.archive.list();
      // The modules are loaded: from here on the process has a real, low limit, and every handle but two is taken.
      execFileSync('prlimit', ['--pid', String(process.pid), '--nofile=' + (fs.readdirSync('/proc/self/fd').length + 8) + ':']);
      const held = [];
      try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch {}
      fs.closeSync(held.pop()); fs.closeSync(held.pop());
      const r = await db.archive.verifyAll().catch((e) => ({ threw: { code: e.code, message: e.message } }));
      for (const fd of held) fs.closeSync(fd);
      fs.writeSync(1, JSON.stringify({ ids, archiveDir: db.archive.archiveDir, r }) + '\\n');
      process.exit(0);`,
      120_000,
    );
    expect(out.signal, out.stderr).toBeNull();
    const { ids, archiveDir, r } = JSON.parse(out.stdout) as { ids: string[]; archiveDir: string; r: { archives: Entry[]; threw?: unknown } };
    const said = JSON.stringify(r, null, 1);
    expect(r.threw, said).toBeUndefined();
    // The host kept copies from being read: else this test proves nothing.
    expect(r.archives.some((v) => v.error?.message.includes('EMFILE')), said).toBe(true);
    const copies = r.archives.map((v) => `${v.archiveId} ${v.source}`);
    expect(new Set(copies).size, said).toBe(copies.length); // no copy twice
    expect(new Set(r.archives.map((v) => v.file)).size, said).toBe(copies.length);
    for (const v of r.archives) {
      expect(['local', 'usb'], said).toContain(v.source); // never "any source"
      expect(v.file, said).not.toBeNull();
      expect(ids, said).toContain(v.archiveId);
    }
    // Each archive's copy verify takes first is there: the local one (named by its file), or usb's for the remote-only one.
    for (const id of [ids[0]!, ids[2]!]) {
      const local = r.archives.find((v) => v.archiveId === id && v.source === 'local');
      expect(local?.file, said).toBe(path.join(archiveDir, `${id}.bri`));
      if (local?.error?.message.includes('EMFILE')) expect(local.error.hint, said).toMatch(/ulimit -n/);
    }
    expect(r.archives.filter((v) => v.archiveId === ids[1]).map((v) => v.source), said).toEqual(['usb']);
    // A remote copy's error keeps its hint too (verify-copies.ts kept only the code and the message).
    for (const v of r.archives) if (v.error?.message.includes('EMFILE')) expect(v.error.hint, said).toMatch(/ulimit -n/);
  }, 150_000);
});
