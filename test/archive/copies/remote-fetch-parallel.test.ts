/**
 * A restore from S3 (s3rver on 127.0.0.1, behind the fault proxy) fetches the archive with
 * parallel ranged GETs (fetch.ts -> remote/ranged-download.ts): an archive of two parts restores
 * exactly; a connection dropped in the middle of the second part is resumed from the byte it
 * reached (the proxy's log shows where the retry started); a part that cannot be read (no
 * attempts left) is a typed error naming the source, with no scratch file left beside the target.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveSources } from '../../../src/archive/copies/sources.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { isBriError } from '../../../src/errors.js';
import { createDB } from '../../../src/db.js';
import { toPlainState, type PlainState } from '../../../src/format/state.js';
import type { RemoteConfig } from '../../../src/remote/registry.js';
import { DEFAULT_PART_BYTES } from '../../../src/remote/ranged-download.js';
import { recover } from '../../../src/store/recovery.js';
import { startFaultProxy, type FaultAction, type FaultProxy, type ProxiedRequest } from '../../support/servers/fault-proxy.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverServer } from '../../support/servers/s3rver.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const MiB = 1024 * 1024;
const BUCKET = 'bri-parallel-fetch';
const pass: FaultAction = { kind: 'pass' };
const tempDir = useTempDirs('bri-parallel-fetch-');
let s3: S3rverServer;
let proxy: FaultProxy;

interface OnS3 {
  root: string;
  remote: RemoteConfig;
  id: string;
  bytes: number;
  expected: PlainState;
}
let h: OnS3;

const rangeOf = (r: ProxiedRequest): number | null => {
  const m = /^bytes=(\d+)-/.exec(String(r.headers.range ?? ''));
  return m ? Number(m[1]) : null;
};
const isArchiveGet = (r: ProxiedRequest): boolean => r.method === 'GET' && /\/archives\/[^?]+\.bri(\?|$)/.test(r.url);

/** A restore of the latest state into a new directory, from the S3 copy only, retrying fast. */
function restoreFromS3(target: string, maxAttempts = 5) {
  const sources = new ArchiveSources([h.remote], ['s3'], { maxAttempts, baseDelayMs: 1, maxDelayMs: 5 });
  return openRestore({ dataDir: target, sources }).fromLatest();
}

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  proxy = await startFaultProxy(s3.port);
  const root = await tempDir();
  const dataDir = path.join(root, 'data');
  const remote: RemoteConfig = {
    provider: 's3',
    name: 's3',
    bucket: BUCKET,
    prefix: `par-${randomBytes(3).toString('hex')}/`,
    endpoint: proxy.endpoint,
    region: 'us-east-1',
    credentials: { ...S3RVER_CREDENTIALS },
    sdkMaxAttempts: 1,
  };
  // Documents that zstd cannot shrink much (random base64): an archive of more than one part.
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes: [remote] } } });
  let created;
  let expected: PlainState;
  try {
    for (let i = 0; i < 56; i++) await db.set(`D_${i}`, { i, blob: randomBytes(192 * 1024).toString('base64') });
    created = await db.archive.create({ level: 3 });
    expected = toPlainState(db.state);
  } finally {
    await db.close();
  }
  expect(created.uploads.map((u) => u.outcome)).toEqual(['uploaded']);
  await fsp.rm(path.join(dataDir, 'archives'), { recursive: true });
  h = { root, remote, id: created.archiveId, bytes: created.bytes, expected };
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await s3?.dispose();
});

describe('restore from S3 with parallel ranged reads', () => {
  it('an archive of several parts is fetched in ranged GETs, one resumed after its connection dropped, and restores exactly', async () => {
    expect(h.bytes).toBeGreaterThan(DEFAULT_PART_BYTES);
    const secondPart = DEFAULT_PART_BYTES;
    let left = 1;
    proxy.setPlan((r) => (isArchiveGet(r) && rangeOf(r) === secondPart && left-- > 0 ? { kind: 'cut-response', afterBytes: MiB } : pass));
    const from = proxy.log.length;
    const target = path.join(h.root, 'restored');
    try {
      const r = await restoreFromS3(target);
      expect(r.source).toBe('s3');
    } finally {
      proxy.setPlan(() => pass);
    }
    expect(toPlainState((await recover(target)).state)).toEqual(h.expected);
    const gets = proxy.log.slice(from).filter(isArchiveGet);
    expect(gets.filter((g) => g.action === 'cut-response')).toHaveLength(1);
    const starts = gets.map(rangeOf);
    // Every part's start was asked for; the resumed request starts inside the part, past its first bytes.
    for (let s = 0; s < h.bytes; s += DEFAULT_PART_BYTES) expect(starts).toContain(s);
    const resumed = starts.filter((s) => s !== null && s > secondPart && s <= secondPart + MiB);
    expect(resumed, JSON.stringify(starts)).toHaveLength(1);
    expect(resumed[0]!).toBeGreaterThan(secondPart + MiB / 2);
    expect((await fsp.readdir(h.root)).filter((n) => n.includes('scratch')), 'scratch files left').toEqual([]);
  }, 120_000);

  it('a part that cannot be read (its connection dropped, no attempts left) is a typed error naming the source; nothing is left beside the target', async () => {
    proxy.setPlan((r) => (isArchiveGet(r) && rangeOf(r) === DEFAULT_PART_BYTES ? { kind: 'cut-response', afterBytes: MiB } : pass));
    const target = path.join(h.root, 'not-restored');
    let err: unknown;
    try {
      await restoreFromS3(target, 1);
    } catch (e) {
      err = e;
    } finally {
      proxy.setPlan(() => pass);
    }
    expect(isBriError(err), String(err)).toBe(true);
    // A connection dropped is the source's failure, not damage: nothing says the copy is bad (try again).
    expect(isBriError(err) && err.code).toBe('REMOTE_ERROR');
    expect((err as Error).message).toMatch(/s3: .*(short read|dropped|connection|socket|aborted|closed)/i);
    expect((await fsp.readdir(h.root)).filter((n) => n.includes('scratch')), 'scratch files left').toEqual([]);
    // No directory was built or half-built for the target.
    expect((await fsp.readdir(h.root)).filter((n) => n.startsWith('not-restored'))).toEqual([]);
  }, 120_000);
});
