/**
 * Encrypted archives on an S3-compatible server (s3rver on loopback): nothing a database with age
 * recipients puts in the bucket (archives, shipped WAL) holds a document key or value; a restore
 * from the bucket alone (archive + shipped WAL, latest and a point in time in the shipped part)
 * gives the state back with the identity; rekey rotates the archives and the shipments there, after
 * which only the new identity opens them.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../src/archive/restore-api.js';
import { createDB } from '../../src/db.js';
import { isBriError } from '../../src/errors.js';
import { toPlainState } from '../../src/format/state.js';
import { recover } from '../../src/store/recovery.js';
import { useS3rver } from '../support/servers/s3rver.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-age-s3-');
const server = useS3rver('bri-age');

async function keyFile(dir: string, name: string) {
  const identity = await generateIdentity();
  const file = path.join(dir, `${name}.txt`);
  await fsp.writeFile(file, `${identity}\n`, { mode: 0o600 });
  return { recipient: await identityToRecipient(identity), file };
}

/** Every file s3rver keeps for the bucket (object bodies and their metadata), read whole. */
async function bucketFiles(): Promise<Array<{ file: string; bytes: Buffer }>> {
  const out: Array<{ file: string; bytes: Buffer }> = [];
  for (const e of await fsp.readdir(server.s3().dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    out.push({ file, bytes: await fsp.readFile(file) });
  }
  return out;
}

const VALUE = 'TOP-SECRET-4b1f';

describe('age encryption on an S3-compatible server', () => {
  it('puts no plaintext in the bucket; restores archive + shipped WAL with the identity; rekey rotates archives and shipments', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const key = await keyFile(r, 'key');
    const remote = server.config();
    const archive = { remotes: [remote], compression: { level: 3 }, continuous: { enabled: true, intervalMs: 100 }, encryption: { recipients: [key.recipient] } };
    const db = await createDB({ storeConfig: { dataDir, archive } });
    for (let i = 0; i < 40; i++) await db.set(`CUSTOMER_${i}`, { card: `${VALUE}-${i}` });
    await db.archive.create();
    for (let i = 40; i < 60; i++) await db.set(`CUSTOMER_${i}`, { card: `${VALUE}-${i}` });
    await db.archive.flushShipping();
    const mid = Date.now();
    await new Promise((res) => setTimeout(res, 5));
    await db.set('LATE_ONE', { card: `${VALUE}-late` });
    await db.archive.flushShipping();
    const state = toPlainState(db.state);
    const shipped = await db.archive.shippingReport();
    expect(shipped[0]?.shippedThrough).toBe(61);
    await db.close();

    const files = await bucketFiles();
    expect(files.some((f) => f.file.includes('.wal.zst.age'))).toBe(true);
    for (const f of files) {
      expect(f.bytes.includes(Buffer.from(VALUE)), f.file).toBe(false);
      expect(f.bytes.includes(Buffer.from('CUSTOMER_')), f.file).toBe(false);
    }

    // From the bucket alone: the data directory is lost.
    await fsp.rm(dataDir, { recursive: true, force: true });
    const config = { remotes: [remote], encryption: { recipients: [key.recipient] } };
    const api = openRestore({ dataDir, config });
    const latest = path.join(r, 'latest');
    const res = await api.fromLatest({ targetDir: latest, source: 's3', identity: key.file });
    expect(res.shipped?.lines).toBeGreaterThan(0);
    expect(toPlainState((await recover(latest)).state)).toEqual(state);
    const atMid = path.join(r, 'mid');
    await api.toTimestamp(mid, { targetDir: atMid, source: 's3', identity: key.file });
    const midState = toPlainState((await recover(atMid)).state);
    expect(Object.keys(midState.documents)).toHaveLength(60);
    const noKey = await api.fromLatest({ targetDir: path.join(r, 'nokey'), source: 's3', identity: { identities: [], passphrases: [], source: 'none' } }).catch((e: unknown) => e);
    expect(isBriError(noKey) && ['ENCRYPTION_KEY_MISSING', 'DECRYPTION_FAILED'].includes(noKey.code)).toBe(true);
    await api.close();

    // Rekey what the bucket holds: then the old identity opens nothing there, the new one everything.
    const next = await keyFile(r, 'next');
    const restoredDb = await createDB({ storeConfig: { dataDir: latest, archive: { ...config, continuous: { enabled: false } } } });
    const rekeyed = await restoredDb.archive.rekey({ recipients: [next.recipient], identity: key.file, source: 's3' });
    await restoredDb.close();
    expect(rekeyed.failures).toEqual([]);
    expect(rekeyed.archives.length).toBeGreaterThan(0);
    expect(rekeyed.shipments).toBeGreaterThan(0);
    const api2 = openRestore({ dataDir: path.join(r, 'elsewhere'), config });
    const old = await api2.fromLatest({ targetDir: path.join(r, 'old'), source: 's3', identity: key.file }).catch((e: unknown) => e);
    expect(isBriError(old) ? old.code : old).toBe('DECRYPTION_FAILED');
    const fresh = path.join(r, 'fresh');
    await api2.fromLatest({ targetDir: fresh, source: 's3', identity: next.file });
    expect(toPlainState((await recover(fresh)).state)).toEqual(state);
    await api2.close();
  }, 120_000);
});
