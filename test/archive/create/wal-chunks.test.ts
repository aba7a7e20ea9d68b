import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lineOffset, readWalChunks, type TornTail } from '../../../src/archive/create/wal-chunks.js';
import { encodedPieces } from '../../../src/archive/create/seeds.js';
import { makeTempDir } from '../../support/fixtures.js';

async function read(file: string) {
  let torn: TornTail | null = null;
  const chunks = [];
  for await (const c of readWalChunks(file, 1, (t) => (torn = t))) chunks.push(c);
  return { chunks, torn: torn as TornTail | null };
}

describe('readWalChunks', () => {
  it('gives whole lines as the bytes on disk and as strings, numbered across chunks, each chunk in its own buffer', async () => {
    const dir = await makeTempDir();
    const lines = Array.from({ length: 5000 }, (_, i) => `${1000 + i}|0000000${i % 10}|{"action":"SET","target":"k${i}","value":"é ${'x'.repeat(i % 300)}"}`);
    const file = path.join(dir, 'a.wal');
    await fsp.writeFile(file, lines.join('\n') + '\n');
    const { chunks, torn } = await read(file);
    expect(torn).toBeNull();
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.flatMap((c) => c.lines)).toEqual(lines);
    expect(Buffer.concat(chunks.map((c) => c.bytes)).equals(await fsp.readFile(file))).toBe(true);
    let next = 1;
    for (const c of chunks) {
      expect(c.firstLineNo).toBe(next);
      expect(c.firstSegmentLine).toBe(next);
      expect(c.hasCr).toBe(false);
      expect(c.bytes.buffer.byteLength).toBeGreaterThan(Buffer.poolSize);
      expect(lineOffset(c.bytes, c.lines.length)).toBe(c.bytes.length);
      expect(c.bytes.subarray(lineOffset(c.bytes, 1), lineOffset(c.bytes, 2)).toString()).toBe(c.lines[1] + '\n');
      next += c.lines.length;
    }
  });

  it('strips a CR before LF from the strings (and says so), and reports an unterminated last line as torn', async () => {
    const dir = await makeTempDir();
    const file = path.join(dir, 'b.wal');
    await fsp.writeFile(file, 'a|b\r\n\nc\npartial');
    const { chunks, torn } = await read(file);
    expect(chunks.flatMap((c) => c.lines)).toEqual(['a|b', '', 'c']);
    expect(chunks[0]!.hasCr).toBe(true);
    expect(torn).toEqual({ lineNo: 4, segmentLine: 4, text: 'partial' });
  });
});

describe('encodedPieces', () => {
  it('encodes long and short texts in pieces without splitting a surrogate pair', async () => {
    const long = '😀'.repeat(200_000) + 'x' + '😀'.repeat(100_000);
    const pieces = ['{', long, ',"a":1', ...Array.from({ length: 3000 }, (_, i) => `"k${i}":"${'é'.repeat(i % 200)}",`), '}'];
    const out: Buffer[] = [];
    for await (const b of encodedPieces(pieces)) out.push(b);
    expect(out.length).toBeGreaterThan(3);
    for (const b of out) expect(b.toString('utf8')).not.toContain('\ufffd');
    expect(Buffer.concat(out).toString('utf8')).toBe(pieces.join(''));
  });

  it('gives the pieces joined, as UTF-8, in buffers of their own of at most 256 KiB (property)', async () => {
    const text = fc.oneof(
      { weight: 6, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
      { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 400 }) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('x', 'é', '€', '😀'), fc.integer({ min: 1, max: 120_000 })).map(([c, n]) => c.repeat(n)) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(text, { maxLength: 300 }), async (pieces) => {
        const out: Buffer[] = [];
        for await (const b of encodedPieces(pieces)) out.push(b);
        expect(Buffer.concat(out).equals(Buffer.from(pieces.join(''), 'utf8'))).toBe(true);
        for (const b of out) {
          expect(b.length).toBeGreaterThan(0);
          expect(b.length).toBeLessThanOrEqual(256 * 1024);
          expect(b.byteOffset).toBe(0);
        }
        expect(new Set(out.map((b) => b.buffer)).size).toBe(out.length);
      }),
      { numRuns: 60 },
    );
  });
});
