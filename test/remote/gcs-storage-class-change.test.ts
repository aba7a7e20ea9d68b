/**
 * A GCS lifecycle rule that moves an object to another storage class (COLDLINE) rewrites its metadata:
 * `updated` moves on, `timeCreated` and the bytes stay. The copy bri confirmed is still that copy: it is
 * not taken for one written again, and `bri archive upload` does not send it again. The GCS test server's
 * index is changed as the service changes the object, between two runs of the server. Real CLI.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { createGcsRemote } from '../../src/remote/gcs/gcs.js';
import type { RemoteConfig } from '../../src/remote/registry.js';
import { runCli } from '../support/cli.js';
import { startGcsServer, type GcsTestServer } from '../support/servers/gcs.js';
import { useTempDirs } from '../support/temp-dirs.js';

// Never let google-auth-library look for the GCE metadata server from a test (nor from the CLI it runs).
process.env.METADATA_SERVER_DETECTION = 'none';

const tempDir = useTempDirs('bri-gcs-class-');
let server: GcsTestServer;

beforeAll(async () => {
  server = await startGcsServer(['bri-test']);
});

afterAll(async () => {
  await server?.dispose();
});

interface SavedObject {
  name: string;
  generation: string;
  metageneration: string;
  storageClass: string;
  timeCreated: string;
  updated: string;
}

/** What GCS does to an object when a SetStorageClass rule applies: same bytes and generation, new class, `updated` now. */
async function lifecycleToColdline(key: string, updated: Date): Promise<SavedObject> {
  const { port, dir } = { port: Number(new URL(server.endpoint).port), dir: server.dir };
  await server.stop();
  const file = path.join(dir, 'index.json');
  const index = JSON.parse(await fsp.readFile(file, 'utf8')) as { buckets: Array<{ objects: SavedObject[] }> };
  const o = index.buckets.flatMap((b) => b.objects).find((x) => x.name === key);
  if (!o) throw new Error(`no object ${key} in the test server's index`);
  o.storageClass = 'COLDLINE';
  o.metageneration = String(Number(o.metageneration) + 1);
  o.updated = updated.toISOString();
  await fsp.writeFile(file, JSON.stringify(index));
  server = await startGcsServer(['bri-test'], [], port, dir);
  return { ...o };
}

describe('GCS: a storage class changed by a lifecycle rule', () => {
  it('head and list give the time the bytes were written; archive upload finds the copy confirmed and sends nothing', async () => {
    const root = await tempDir();
    const dataDir = path.join(root, 'data');
    const prefix = `class-${path.basename(root)}`;
    const remote: RemoteConfig = { provider: 'gcs', bucket: 'bri-test', endpoint: server.endpoint, prefix };
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes: [remote] } } });
    let archiveId: string;
    try {
      for (let i = 0; i < 20; i++) await db.set(`U_${i}`, { i });
      const created = await db.archive.create({ level: 1 });
      expect(created.uploads.map((u) => u.outcome)).toEqual(['uploaded']);
      archiveId = created.archiveId;
    } finally {
      await db.close();
    }
    const key = `archives/${archiveId}.bri`;
    const later = new Date(Date.now() + 60_000);
    const changed = await lifecycleToColdline(`${prefix}/${key}`, later);

    const store = createGcsRemote({ bucket: 'bri-test', endpoint: server.endpoint, prefix });
    try {
      const head = await store.head(key);
      expect(head.lastModified.toISOString()).toBe(new Date(changed.timeCreated).toISOString());
      const listed = [];
      for await (const o of store.list('archives/')) listed.push(o);
      expect(listed.map((o) => [o.key, o.lastModified.toISOString()])).toEqual([[key, new Date(changed.timeCreated).toISOString()]]);
    } finally {
      await store.close();
    }

    const config = path.join(root, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [{ ...remote, endpoint: server.endpoint }] }));
    const up = await runCli(['archive', 'upload', '-d', dataDir, '--config', config]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).not.toMatch(/uploaded again|written again/);
    expect(up.stdout).toContain('every archive is confirmed on every remote');
    // The object is the one uploaded first: same generation.
    const index = JSON.parse(await fsp.readFile(path.join(server.dir, 'index.json'), 'utf8')) as { buckets: Array<{ objects: SavedObject[] }> };
    expect(index.buckets.flatMap((b) => b.objects).find((x) => x.name === `${prefix}/${key}`)?.generation).toBe(changed.generation);
  }, 90_000);
});
