/**
 * Time travel reads only what it needs from a remote: `show --at T` with T in the first of ten
 * segments fetches the snapshot and that segment (and 512 bytes of tar header), counted as the
 * server's responses deliver them, never the whole archive; the same answers as a full replay.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../src/archive/restore-api.js';
import { ArchiveSources } from '../../src/archive/copies/sources.js';
import { createDB } from '../../src/db.js';
import type { RemoteStore } from '../../src/remote/remote.js';
import { countingStore, type Served } from '../support/counting-store.js';
import { useS3rver } from '../support/servers/s3rver.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-s3-');
const server = useS3rver('bri-tt');
const served: Served = { bytes: 0, gets: 0 };

describe('time travel from an S3-compatible server', () => {
  it('show --at T in the first of ten segments fetches the snapshot and that segment only', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const remote = server.config();
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 64 * 1024, archive: { remotes: [remote], compression: { level: 1 } } } });
    const marks: number[] = [];
    for (let seg = 0; seg < 10; seg++) {
      for (let i = 0; i < 240; i++) {
        await db.set(`DOC_${seg}_${i}`, { noise: randomBytes(200).toString('base64') });
        // Lines a few ms apart: a moment then falls between two segments' lines.
        if (i % 20 === 19) await new Promise((res) => setTimeout(res, 2));
      }
      marks.push(Date.now());
      await new Promise((res) => setTimeout(res, 3));
    }
    const made = await db.archive.create();
    await db.close();
    const m = made.manifest;
    expect(m.contents.segments.length).toBeGreaterThanOrEqual(10);
    const first = m.contents.segments[0]!;
    // The last moment before the second segment's first line: only the first segment holds lines up to it.
    const at = m.contents.segments[1]!.firstTimestamp! - 1;
    expect(at).toBeGreaterThanOrEqual(first.firstTimestamp!);

    const sources = new ArchiveSources([remote]);
    (sources.remotes[0] as { store: RemoteStore }).store = countingStore(sources.remotes[0]!.store, served);
    const api = openRestore({ dataDir: path.join(r, 'elsewhere'), sources, config: { remotes: [remote] } });
    await api.list({ source: 's3' }); // the listing (the manifests) is cached: what follows is the query's own reads
    served.bytes = 0;
    served.gets = 0;
    const key = 'DOC_0_5';
    const shown = await api.read(key, { at, source: 's3' });
    expect(shown.exists).toBe(true);
    const bound = m.contents.snapshot.compressedSize + first.compressedSize + 512;
    expect(served.bytes).toBeLessThanOrEqual(bound);
    expect(served.bytes).toBeGreaterThanOrEqual(first.compressedSize);
    expect(served.gets).toBe(3); // the first tar header, the snapshot, the first segment
    expect(shown.read.bytes).toBe(served.bytes);
    const total = m.contents.segments.reduce((a, s) => a + s.compressedSize, 0);
    expect(served.bytes).toBeLessThan(total / 4);

    // The same answer as the end state for a document the later segments never touch, and absent before its write.
    const late = await api.read('DOC_9_1', { at, source: 's3' });
    expect(late.exists).toBe(false);
    await api.close();
  }, 120_000);
});
