/**
 * keepLocal takes a local copy away only on the word of a cloud copy that is still the archive: the
 * object is asked (HEAD) for the SHA-256 recorded at its upload, or the checksum the remote confirmed
 * then. Found by replacing an archive's object behind the tool's back with other bytes of the same
 * size: the size alone made it "whole", and the local copy, the last real one, was pruned.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { createRemote } from '../../src/remote/registry.js';
import { S3RVER_CREDENTIALS, useS3rver } from '../support/servers/s3rver.js';
import { useTempDirs } from '../support/temp-dirs.js';

const BUCKET = 'bri-prune-cloud';
const server = useS3rver(BUCKET);
const tmp = useTempDirs('bri-prune-cloud-');

/** The archive file with one byte changed: same size, other bytes. */
async function tampered(file: string): Promise<Buffer> {
  const bytes = await fsp.readFile(file);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at]! ^ 0xff;
  return bytes;
}

describe('keepLocal against a cloud copy replaced behind our back', () => {
  it('a local copy stays while its S3 copy holds other bytes of the same size (through the tool, or through another client); it goes once the copy is the archive again', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const remote = server.config('s3');
    const store = createRemote(remote);
    const archive = { keepLocal: 0, remotes: [remote], compression: { level: 1 } };
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { ...archive, keepLocal: undefined } } });
    const ids: string[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        await db.set(`K${round}`, { round });
        ids.push((await db.archive.create()).archiveId);
      }
    } finally {
      await db.close();
    }
    const file = (id: string) => path.join(dataDir, 'archives', `${id}.bri`);
    const key = (id: string) => `archives/${id}.bri`;
    // The first through the tool's own put (its recorded SHA-256 is the new bytes'), the second by another S3 client (none recorded).
    const first = await tampered(file(ids[0]!));
    const firstFile = path.join(r, 'first.bin');
    await fsp.writeFile(firstFile, first);
    await store.put(key(ids[0]!), { path: firstFile }, { size: first.length, sha256: createHash('sha256').update(first).digest('hex') });
    const second = await tampered(file(ids[1]!));
    const raw = new S3Client({ endpoint: server.s3().endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS } });
    await raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${remote.prefix}/${key(ids[1]!)}`, Body: second }));
    raw.destroy();
    const { ArchiveApi, offlineHost } = await import('../../src/archive/archive-api.js');
    const api = () => new ArchiveApi(offlineHost(dataDir, undefined), archive);
    const report = await api().prune();
    expect(report.removed).toEqual([]);
    // Both stay: the tool's put changed the SHA-256 a HEAD reports (its record no longer vouches for it: the upload sends
    // it again); the other client's put is no copy either, whether its time or its bytes (read: only-copy) tell first.
    expect(report.kept).toContainEqual({ archiveId: ids[0], source: 'local', reason: 'not-on-every-remote', lacking: ['s3'] });
    expect(report.kept.filter((d) => d.source === 'local' && (d.reason === 'only-copy' || d.reason === 'not-on-every-remote')).map((d) => d.archiveId).sort()).toEqual([ids[0], ids[1]].sort());
    for (const id of ids) expect(fs.existsSync(file(id)), id).toBe(true);
    // Put right (the archive uploaded again, and confirmed), the local copy goes on its word.
    expect((await api().upload({ archiveId: ids[0]! })).map((s) => s.outcome)).toEqual(['uploaded']);
    const again = await api().prune();
    expect(again.removed.map((d) => [d.archiveId, d.source])).toEqual([[ids[0], 'local']]);
    await store.close?.();
  }, 60_000);
});
