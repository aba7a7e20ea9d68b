import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalRemote, STALE_TEMP_MS } from '../../src/remote/local.js';
import { expectCode, runConformance, streamDigest } from './conformance.js';
import { faultPrefix, runFaultSuite } from './fault-suite.js';

const roots: string[] = [];

async function freshRoot(): Promise<string> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-local-remote-'));
  roots.push(root);
  return root;
}

afterAll(async () => {
  for (const r of roots) await fsp.rm(r, { recursive: true, force: true });
});

runConformance('local', async () => createLocalRemote({ path: await freshRoot(), prefix: `run-${process.pid}/` }), {
  extraTests: (store, files) => {
    it('keeps no temp or sidecar names visible and stores the file at <root>/<prefix>/<key>', async () => {
      await store().put('layout/x.bin', { path: files().other.path }, { size: files().other.size, sha256: files().other.sha256 });
      const d = store().describe();
      const onDisk = path.join(d.path!, d.prefix, 'layout', 'x.bin');
      expect((await fsp.stat(onDisk)).size).toBe(files().other.size);
      const names = await fsp.readdir(path.dirname(onDisk));
      expect(names.filter((n) => n.includes('.bri-tmp-'))).toEqual([]);
      expect(names).toContain('.x.bin.bri-meta.json');
    });

    it('head computes the SHA-256 when the sidecar does not describe the file (crash between renames)', async () => {
      await store().put('crash/x.bin', { path: files().small.path }, { size: files().small.size, sha256: files().small.sha256 });
      const d = store().describe();
      const onDisk = path.join(d.path!, d.prefix, 'crash', 'x.bin');
      // Replace the file behind the sidecar's back: a new inode, other content.
      await fsp.copyFile(files().other.path, `${onDisk}.new`);
      await fsp.rename(`${onDisk}.new`, onDisk);
      const head = await store().head('crash/x.bin');
      expect(head.size).toBe(files().other.size);
      expect(head.checksums.sha256).toBe(files().other.sha256);
      expect(head.metadata).toEqual({});
    });
  },
});

// The fault suite's root exists before any test runs (config() is synchronous); removed with the others.
const faultRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'bri-local-faults-'));
roots.push(faultRoot);

runFaultSuite({
  name: 'local',
  missing: 'directory',
  config: (o) => ({ provider: 'local', path: o.missingBucket ? path.join(faultRoot, 'does-not-exist') : faultRoot, prefix: faultPrefix() }),

});

describe('local remote', () => {
  it('a put removes the temp files that puts killed mid-write left in its directory once stale, and no other file', async () => {
    const root = await freshRoot();
    const f = path.join(root, 'src.txt');
    await fsp.writeFile(f, 'hello');
    const sha = (await streamDigest(fs.createReadStream(f))).sha256;
    await createLocalRemote({ path: root }).put('d/kept.bin', { path: f }, { size: 5, sha256: sha });
    const dir = path.join(root, 'd');
    const old = new Date(Date.now() - STALE_TEMP_MS - 60_000);
    const names = {
      staleObject: '.a.bin.bri-tmp-0123456789ab',
      staleSidecar: '.a.bin.bri-meta.json.bri-tmp-0123456789ab',
      fresh: '.b.bin.bri-tmp-ba9876543210',
      oldObject: 'old.bin',
    };
    for (const name of Object.values(names)) await fsp.writeFile(path.join(dir, name), 'x');
    for (const name of [names.staleObject, names.staleSidecar, names.oldObject]) await fsp.utimes(path.join(dir, name), old, old);
    // A store that has not swept this directory yet (a new process after the crash).
    await createLocalRemote({ path: root }).put('d/new.bin', { path: f }, { size: 5, sha256: sha });
    const after = await fsp.readdir(dir);
    expect(after).not.toContain(names.staleObject);
    expect(after).not.toContain(names.staleSidecar);
    expect(after).toContain(names.fresh);
    expect(after).toContain(names.oldObject);
    expect(after).toEqual(expect.arrayContaining(['kept.bin', 'new.bin', '.kept.bin.bri-meta.json', '.new.bin.bri-meta.json']));
  });

  it('a key that is also a directory of other keys is a clear REMOTE_ERROR', async () => {
    const root = await freshRoot();
    const store = createLocalRemote({ path: root });
    const f = path.join(root, 'src.txt');
    await fsp.writeFile(f, 'hello');
    const sha = (await streamDigest((await import('node:fs')).createReadStream(f))).sha256;
    await store.put('a/b', { path: f }, { size: 5, sha256: sha });
    const err = await expectCode(store.put('a', { path: f }, { size: 5, sha256: sha }), 'REMOTE_ERROR');
    expect(err.message).toMatch(/collide|directory/i);
  });
});
