/**
 * A shipment put that never completed (a writer killed mid-upload; s3rver then shows the object
 * without its metadata) must not stop shipping for good: it does not count as shipped, it is removed
 * while the WAL still holds its lines (they are shipped again), and every line reaches the remote.
 * One past the WAL's end is kept and said.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArchiveSources } from '../../src/archive/copies/sources.js';
import { openRestore } from '../../src/archive/restore-api.js';
import { listShipments } from '../../src/archive/shipping/shipped-catalog.js';
import { decodeShipment, shipmentKey } from '../../src/archive/shipping/shipment.js';
import { createDB } from '../../src/db.js';
import { toPlainState } from '../../src/format/state.js';
import type { RemoteConfig } from '../../src/remote/registry.js';
import { recover } from '../../src/store/recovery.js';
import { useS3rver } from '../support/servers/s3rver.js';
import { useTempDirs } from '../support/temp-dirs.js';

const BUCKET = 'bri-unfinished';
const server = useS3rver(BUCKET);
const tempDir = useTempDirs('bri-unfinished-');

/** An object as a cut put leaves it on s3rver: part of a body, no metadata. */
async function putTorn(remote: RemoteConfig, key: string): Promise<void> {
  const c = remote as Extract<RemoteConfig, { provider: 's3' }>;
  const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({ endpoint: c.endpoint!, region: 'us-east-1', forcePathStyle: true, credentials: { ...c.credentials! } });
  await client.send(new PutObjectCommand({ Bucket: c.bucket, Key: `${c.prefix}/${key}`, Body: Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]) }));
  client.destroy();
}

/** A database archived once, with lines 11..15 shipped and 16..20 written with shipping off. */
async function shippedThenMore(remote: RemoteConfig): Promise<{ dataDir: string; instanceId: string; expected: unknown }> {
  const dataDir = path.join(await tempDir(), 'data');
  const shipping = { remotes: [remote], continuous: { enabled: true, intervalMs: 60_000 }, compression: { level: 1 } };
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: shipping } });
  for (let i = 0; i < 10; i++) await db.set(`A_${i}`, { i });
  const made = await db.archive.create();
  for (let i = 0; i < 5; i++) await db.set(`B_${i}`, { i });
  await db.archive.flushShipping();
  await db.close();
  const quiet = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes: [remote], compression: { level: 1 } } } });
  for (let i = 0; i < 5; i++) await quiet.set(`C_${i}`, { i });
  const expected = toPlainState(quiet.state);
  await quiet.close();
  return { dataDir, instanceId: made.manifest.instanceId, expected };
}

async function shipmentsOn(remote: RemoteConfig, instanceId: string): Promise<Array<{ key: string; lastLine: number; ok: boolean }>> {
  const sources = new ArchiveSources([remote]);
  try {
    const r = sources.remotes[0]!;
    const out = [];
    for (const ref of (await listShipments(r)).get(instanceId) ?? []) {
      const ok = await decodeShipment(await r.store.get(ref.key), ref).then(() => true, () => false);
      out.push({ key: ref.key, lastLine: ref.lastLine, ok });
    }
    return out;
  } finally {
    await sources.close();
  }
}

describe('a shipment put that never completed', () => {
  it('is removed at resume while the WAL holds its lines, which are shipped again: flushShipping reaches the end and the remote restores every line', async () => {
    const remote = server.config();
    const { dataDir, instanceId, expected } = await shippedThenMore(remote);
    await putTorn(remote, shipmentKey(instanceId, 16, 20));
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes: [remote], continuous: { enabled: true, intervalMs: 60_000 } } } });
    try {
      await db.archive.flushShipping();
      expect(db.archive.shippingStatus()[0]).toMatchObject({ shippedThrough: 20, lagLines: 0, lastError: null });
    } finally {
      await db.close();
    }
    // (The open's first tick resumed, before a listener could hear its 'ship-discarded'.) The object is a whole shipment now.
    const held = await shipmentsOn(remote, instanceId);
    expect(held.every((s) => s.ok), JSON.stringify(held)).toBe(true);
    expect(Math.max(...held.map((s) => s.lastLine))).toBe(20);
    const target = path.join(await tempDir(), 'restored');
    await openRestore({ dataDir: target, config: { remotes: [remote] } }).fromLatest();
    expect(toPlainState((await recover(target)).state)).toEqual(expected);
  }, 60_000);

  it('one that claims lines past the WAL end is kept, and shipping says why it stops', async () => {
    const remote = server.config();
    const { dataDir, instanceId } = await shippedThenMore(remote);
    const key = shipmentKey(instanceId, 16, 90);
    await putTorn(remote, key);
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes: [remote], continuous: { enabled: true, intervalMs: 60_000 } } } });
    try {
      await expect(db.archive.flushShipping()).rejects.toMatchObject({ code: 'REMOTE_ERROR' });
      expect(db.archive.shippingStatus()[0]!.lastError).toMatch(/no last_pointer metadata .*no longer holds its lines/);
    } finally {
      // Its lines never reached the remote: close says so.
      await expect(db.close()).rejects.toMatchObject({ code: 'REMOTE_ERROR' });
    }
    expect((await shipmentsOn(remote, instanceId)).map((s) => s.key)).toContain(key);
  }, 60_000);
});
