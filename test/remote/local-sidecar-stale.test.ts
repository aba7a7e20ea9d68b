/**
 * A local remote's sidecar says the SHA-256 of the file as it was put. A file written again in place
 * afterwards (same inode, same size) is not what the sidecar describes: head() reports no SHA-256 confirmed
 * at upload for it (and no metadata of the upload), whether the file's time moved on or was set back
 * (`cp -p`, `touch -r`); `archive upload` then sends the archive again. Real files.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocalRemote } from '../../src/remote/local.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tempDir = useTempDirs('bri-sidecar-stale-');
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function putOne(): Promise<{ store: ReturnType<typeof createLocalRemote>; file: string; original: string }> {
  const root = await tempDir();
  const src = path.join(root, 'src.bin');
  const original = 'the archive as uploaded';
  await fsp.writeFile(src, original);
  await fsp.mkdir(path.join(root, 'nas'));
  const store = createLocalRemote({ path: path.join(root, 'nas'), prefix: 'p' });
  await store.put('archives/x.bri', { path: src }, { size: original.length, sha256: sha(original), metadata: { kind: 'archive' } });
  expect((await store.head('archives/x.bri')).checksums.sha256).toBe(sha(original));
  return { store, file: path.join(root, 'nas', 'p', 'archives', 'x.bri'), original };
}

/** Other bytes of the same size into the same file (same inode), as an editor or `dd conv=notrunc` writes. */
async function rewriteInPlace(file: string, body: string): Promise<void> {
  // Past the file system clock's tick, so that the write's time is later than the sidecar's.
  await new Promise((r) => setTimeout(r, 50));
  const h = await fsp.open(file, 'r+');
  try {
    await h.write(body, 0);
  } finally {
    await h.close();
  }
}

describe('a local remote\'s sidecar older than its file', () => {
  it('a file written again after its sidecar: head reports no SHA-256, not the sidecar\'s', async () => {
    const { store, file, original } = await putOne();
    const other = 'X'.repeat(original.length);
    await rewriteInPlace(file, other);
    expect((await fsp.stat(file)).size).toBe(original.length);
    const head = await store.head('archives/x.bri');
    expect(head.checksums).toEqual({});
    expect(head.metadata).toEqual({});
  });

  it('the same with the file\'s time set back before the sidecar\'s (cp -p): head reports no SHA-256', async () => {
    const { store, file, original } = await putOne();
    const before = await fsp.stat(file);
    const other = 'Y'.repeat(original.length);
    await rewriteInPlace(file, other);
    const old = new Date(before.mtimeMs - 3_600_000);
    await fsp.utimes(file, old, old);
    const head = await store.head('archives/x.bri');
    expect(head.checksums).toEqual({});
    expect(head.metadata).toEqual({});
  });

  it('an untouched file keeps its sidecar\'s word, with its metadata', async () => {
    const { store, original } = await putOne();
    await new Promise((r) => setTimeout(r, 50));
    const head = await store.head('archives/x.bri');
    expect(head.checksums.sha256).toBe(sha(original));
    expect(head.metadata).toEqual({ kind: 'archive' });
  });
});
