/**
 * Crafted archives whose text is longer than any store can read (a WAL line, the snapshot: Node cannot
 * make more than buffer.constants.MAX_STRING_LENGTH bytes into a string), declared honestly in the
 * manifest and consistent everywhere else (checksums, PAR2). Verify, time travel and restore refuse them
 * with a typed error naming the member, never "internal error", never V8's message reported as damage.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { constants as bufferConstants } from 'node:buffer';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../src/archive/package/reader.js';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { makeTempDir } from '../support/fixtures.js';
import { repack } from '../archive/package/craft-kit.js';

const { compress } = createRequire(import.meta.url)('zstd-napi') as { compress(b: Buffer, o?: { compressionLevel?: number }): Buffer };
const MAX = bufferConstants.MAX_STRING_LENGTH;

let root: string;
let dataDir: string;
let archiveId: string;
let archiveFile: string;
let original: Buffer;
let at: string;

beforeAll(async () => {
  root = await makeTempDir('bri-oversized-text-');
  dataDir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
  try {
    for (let i = 0; i < 20; i++) await db.set(`K${i}`, { v: i });
    const a = await db.archive.create();
    archiveId = a.archiveId;
    archiveFile = a.file;
    at = a.manifest.timeRange.end.toISOString();
  } finally {
    await db.close();
  }
  original = await fsp.readFile(archiveFile);
}, 60_000);
afterAll(() => fsp.rm(root, { recursive: true, force: true }));

/** Every way in: verify, time travel (`archive show`), restore; none is an internal error or a stack. */
async function everyReader(): Promise<Array<{ what: string; code: number | null; out: string }>> {
  const runs = [
    ['verify', ['archive', 'verify', archiveId, '-d', dataDir]],
    ['show', ['archive', 'show', 'K1', '--at', at, '-d', dataDir]],
    ['restore', ['restore', 'from', archiveId, '-d', dataDir, '--target', path.join(root, `t-${Date.now()}`)]],
  ] as const;
  const out = [];
  for (const [what, args] of runs) {
    const r = await runCli([...args]);
    const text = r.stdout + r.stderr;
    expect(text, `${what}: ${text}`).not.toMatch(/internal error|Cannot create a string|allocation failed|\n\s+at /);
    out.push({ what, code: r.code, out: text });
  }
  return out;
}

describe('text longer than a store can read', () => {
  it('a snapshot declared longer than MAX_STRING_LENGTH bytes is refused as ARCHIVE_INVALID before it is inflated', async () => {
    await repack(archiveFile, {
      edit: (m) => {
        m.compression.originalSize += MAX + 1 - m.contents.snapshot.originalSize;
        m.contents.snapshot.originalSize = MAX + 1;
      },
    });
    try {
      for (const r of await everyReader()) {
        expect(r.out, r.what).toMatch(/ARCHIVE_(INVALID|CORRUPTED)/);
        expect(r.out, r.what).toMatch(/snapshot\.jss\.zst declares \d+ bytes once decompressed, more than BRI's largest snapshot/);
        expect(r.code, `${r.what}: ${r.out}`).not.toBe(0);
      }
    } finally {
      await fsp.writeFile(archiveFile, original);
    }
  }, 120_000);

  it('a WAL member of one 640 MiB line (declared so) is refused as that line is read, naming the member', async () => {
    // Ten frames of 64 MiB of 'a', concatenated: one line with no end, ~20 KiB stored.
    const piece = Buffer.alloc(64 << 20, 0x61);
    const frame = compress(piece, { compressionLevel: 1 });
    const content = createHash('sha256');
    for (let i = 0; i < 10; i++) content.update(piece);
    const seg = (await readManifest(archiveFile)).contents.segments[0]!;
    await repack(archiveFile, {
      replace: { [seg.file]: Buffer.concat(Array.from({ length: 10 }, () => frame)) },
      edit: (m) => {
        const s = m.contents.segments[0]!;
        m.compression.originalSize += 10 * piece.length - s.originalSize;
        Object.assign(s, { originalSize: 10 * piece.length, contentSha256: content.digest('hex') });
      },
    });
    try {
      for (const r of await everyReader()) {
        expect(r.out, r.what).toMatch(/ARCHIVE_CORRUPTED/);
        expect(r.out, r.what).toContain(`${seg.file} holds a line longer than ${MAX} bytes`);
        expect(r.code, `${r.what}: ${r.out}`).toBe(21);
      }
    } finally {
      await fsp.writeFile(archiveFile, original);
    }
  }, 180_000);
});
