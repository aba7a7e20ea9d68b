/**
 * The member decoder threads: the lines naming a needle come back with their places (or every line of a
 * piece whose entries it cannot see into), every line comes back in lines mode, whatever the piece
 * boundaries; damaged, truncated and oversized members are ARCHIVE_CORRUPTED naming the member.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Compressor } from 'zstd-napi';
import { DecodedMember, decoderPool } from '../../../../src/archive/package/decoder/member-decoder.js';
import { BriError } from '../../../../src/errors.js';

const line = fc.oneof(
  fc.record({ key: fc.constantFrom('A', 'B', 'AB', 'C"x', 'é'), v: fc.string({ maxLength: 8 }) }).map(({ key, v }) => `1|0000abcd|${JSON.stringify({ action: 'SET', target: key, value: v })}`),
  fc.base64String({ minLength: 4, maxLength: 20 }).map((b) => `2|0000abcd|${b}`),
);

function zstd(text: string): Buffer {
  const c = new Compressor();
  c.setParameters({ compressionLevel: 3, checksumFlag: true, contentSizeFlag: true });
  return Buffer.from(c.compress(Buffer.from(text, 'utf8')));
}

async function found(d: DecodedMember) {
  const texts: string[] = [];
  const idx: number[] = [];
  for await (const f of d.found()) {
    texts.push(...f.texts);
    idx.push(...f.idx);
  }
  return { texts, idx, lines: d.lineCount };
}

async function all(d: DecodedMember): Promise<string[]> {
  const out: string[] = [];
  for await (const b of d.lines()) out.push(...b);
  return out;
}

describe('DecodedMember', () => {
  it('filter: takes the lines that can name a needle, at their places, and counts every line', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 40 }), fc.option(fc.integer({ min: 16, max: 400 }), { nil: undefined }), fc.constantFrom('A', 'C"x', 'é'), fc.boolean(), fc.constantFrom(0, 1, 2), async (lines, stage, key, ended, told) => {
        const text = lines.join('\n') + (ended && lines.length > 0 ? '\n' : '');
        const bytes = Buffer.byteLength(text);
        // The manifest's line count: not given, right, or wrong (the search then hands back every line).
        const manifestLines = told === 0 ? undefined : lines.length + (told === 2 ? 1 : 0);
        const r = await found(new DecodedMember(zstd(text), { member: 'wal/000001.wal.zst', limit: bytes, mode: { kind: 'filter', needles: [Buffer.from(JSON.stringify(key))] }, lines: manifestLines, stageBytes: stage }));
        expect(r.lines).toBe(lines.length === 1 && lines[0] === '' ? (ended ? 1 : 0) : lines.length);
        const plain = lines.every((l) => l.includes('|{"action":"'));
        lines.forEach((l, i) => {
          if (l.includes(JSON.stringify(key))) expect(r.idx).toContain(i);
        });
        if (plain && told !== 2) for (const t of r.texts) expect(t.includes(JSON.stringify(key))).toBe(true);
        if (told === 2 && stage === undefined && lines.length > 0) expect(r.texts.length).toBe(lines.length);
        for (const [j, t] of r.texts.entries()) expect(t).toBe(lines[r.idx[j]!]);
      }),
      { numRuns: 200 },
    );
  });

  it('lines: gives back every line, in order, whatever the stage size (and a line longer than the stage)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(line, fc.string({ minLength: 300, maxLength: 900 }).map((s) => s.replace(/\n/g, ' '))), { maxLength: 40 }), fc.option(fc.integer({ min: 16, max: 400 }), { nil: undefined }), async (lines, stage) => {
        const text = lines.map((l) => l + '\n').join('');
        const got = await all(new DecodedMember(zstd(text), { member: 'wal/000001.wal.zst', limit: Buffer.byteLength(text), mode: { kind: 'lines' }, stageBytes: stage }));
        expect(got).toEqual(lines);
      }),
      { numRuns: 150 },
    );
  });

  it.each([
    ['in one call', undefined],
    ['streaming', 4096],
  ])('%s: a member past its declared size, a damaged, a truncated one and stored bytes unlike the manifest\'s are ARCHIVE_CORRUPTED naming it', async (_how, stageBytes) => {
    const text = Array.from({ length: 5000 }, (_, i) => `1|0000abcd|{"action":"SET","target":"K${i}","value":"v"}`).join('\n') + '\n';
    const good = zstd(text);
    const bomb = new DecodedMember(Buffer.from(good), { member: 'wal/000002.wal.zst', limit: 1000, mode: { kind: 'lines' }, stageBytes });
    await expect(all(bomb)).rejects.toMatchObject({ code: 'ARCHIVE_CORRUPTED', details: { member: 'wal/000002.wal.zst', declared: 1000 } });
    const flipped = Buffer.from(good);
    for (let i = 20; i < flipped.length - 8; i += 7) flipped[i]! ^= 0x55;
    const bad = new DecodedMember(flipped, { member: 'wal/000003.wal.zst', limit: text.length, mode: { kind: 'filter', needles: [Buffer.from('"K7"')] }, stageBytes });
    const err = await found(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BriError);
    expect((err as BriError).code).toBe('ARCHIVE_CORRUPTED');
    expect((err as BriError).message).toContain('wal/000003.wal.zst');
    const cut = new DecodedMember(good.subarray(0, good.length - 40), { member: 'wal/000004.wal.zst', limit: text.length, mode: { kind: 'lines' }, stageBytes });
    await expect(all(cut)).rejects.toMatchObject({ code: 'ARCHIVE_CORRUPTED', details: { member: 'wal/000004.wal.zst' } });
    const sha256 = createHash('sha256').update(good).digest('hex');
    const ok = new DecodedMember(Buffer.from(good), { member: 'wal/000005.wal.zst', limit: text.length, mode: { kind: 'lines' }, stored: { sha256, size: good.length }, stageBytes });
    expect((await all(ok)).length).toBe(5000);
    const other = Buffer.from(good);
    other[other.length - 1]! ^= 1;
    const unlike = new DecodedMember(other, { member: 'wal/000006.wal.zst', limit: text.length, mode: { kind: 'filter', needles: [Buffer.from('"K7"')] }, stored: { sha256, size: good.length }, stageBytes });
    await expect(found(unlike)).rejects.toMatchObject({ code: 'ARCHIVE_CORRUPTED', message: expect.stringContaining('do not match the manifest'), details: { member: 'wal/000006.wal.zst' } });
  });

  it('a member in shared memory is read where it lies: the same lines, and the caller still holds its bytes, unchanged', async () => {
    const text = Array.from({ length: 3000 }, (_, i) => `${i + 1}|0000abcd|{"action":"SET","target":"K${i % 97}","value":"v${i}"}`).join('\n') + '\n';
    const z = zstd(text);
    const stored = Buffer.from(new SharedArrayBuffer(z.length));
    z.copy(stored);
    const got = await all(new DecodedMember(stored, { member: 'wal/000001.wal.zst', limit: Buffer.byteLength(text), mode: { kind: 'lines' } }));
    expect(got).toEqual(text.slice(0, -1).split('\n'));
    expect(stored.byteLength).toBe(z.length);
    expect(stored.equals(z)).toBe(true);
    // An ordinary buffer is given up instead (moved to the thread, not copied).
    const moved = Buffer.allocUnsafeSlow(z.length);
    z.copy(moved);
    expect(await all(new DecodedMember(moved, { member: 'wal/000001.wal.zst', limit: Buffer.byteLength(text), mode: { kind: 'lines' } }))).toEqual(got);
    expect(moved.byteLength).toBe(0);
  });

  it('a member left part-read is cancelled, and the members after it are decoded in full', async () => {
    const text = Array.from({ length: 60_000 }, (_, i) => `1|0000abcd|{"action":"SET","target":"K${i}","value":"${'x'.repeat(40)}"}`).join('\n') + '\n';
    const members = Array.from({ length: 5 }, () => new DecodedMember(zstd(text), { member: 'wal/000001.wal.zst', limit: text.length, mode: { kind: 'lines' }, stageBytes: 4096 }));
    for await (const batch of members[0]!.lines()) {
      expect(batch.length).toBeGreaterThan(0);
      break;
    }
    members[1]!.cancel();
    for (const d of members.slice(2)) expect((await all(d)).length).toBe(60_000);
    // Read in another order than they were given: each thread goes on with a member while another waits to be read.
    const later = Array.from({ length: 5 }, () => new DecodedMember(zstd(text), { member: 'wal/000001.wal.zst', limit: text.length, mode: { kind: 'lines' }, stageBytes: 4096 }));
    for (const d of later.reverse()) expect((await all(d)).length).toBe(60_000);
    const f = await found(new DecodedMember(zstd(text), { member: 'wal/000001.wal.zst', limit: text.length, mode: { kind: 'filter', needles: [Buffer.from('"K59999"'), Buffer.from('"K7"')] } }));
    expect(f).toEqual({ texts: [text.split('\n')[7], text.split('\n')[59999]], idx: [7, 59999], lines: 60_000 });
  });

  it('stops its threads when they have been idle a while, and starts them again for the next member', async () => {
    const text = '1|0000abcd|{"action":"SET","target":"K","value":"v"}\n';
    const before = decoderPool.idleStopMs;
    decoderPool.idleStopMs = 50;
    try {
      expect(await all(new DecodedMember(zstd(text), { member: 'wal/000001.wal.zst', limit: text.length, mode: { kind: 'lines' } }))).toHaveLength(1);
      expect(decoderPool.running()).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 200));
      expect(decoderPool.running()).toBe(0);
      expect(await all(new DecodedMember(zstd(text), { member: 'wal/000001.wal.zst', limit: text.length, mode: { kind: 'lines' } }))).toHaveLength(1);
    } finally {
      decoderPool.idleStopMs = before;
    }
  });
});
