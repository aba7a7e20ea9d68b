/**
 * A WAL member passed from a decoder thread (check mode: the stored bytes' sha256, zstd, the content's
 * sha256 and the chain's links inside the member checked there) gives exactly what the pass on this
 * thread gives: the same lines handed on, the same bytes written, the same counts, times and content
 * hash, the same point-in-time stop, and the same chain verdict, naming the same line, whether the chain
 * holds, breaks inside the member, breaks at its first line, or meets entries the thread cannot hash.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Compressor } from 'zstd-napi';
import { DecodedMember } from '../../../../src/archive/package/decoder/member-decoder.js';
import { passDecodedMember, passWalMember, type WalMemberOptions } from '../../../../src/archive/package/wal-member.js';
import type { ManifestSegment } from '../../../../src/format/manifest.js';
import { computePointer } from '../../../../src/format/pointer.js';
import { parseWalLine, type WalLine } from '../../../../src/format/wal-line.js';
import { ChainVerifier } from '../../../../src/store/wal/chain.js';

function zstd(bytes: Buffer): Buffer {
  const c = new Compressor();
  c.setParameters({ compressionLevel: 3, checksumFlag: true, contentSizeFlag: true });
  return Buffer.from(c.compress(bytes));
}

const entry = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constantFrom('A', 'B', 'é"\\', 'K\u2028'), v: fc.string({ maxLength: 40, unit: 'grapheme' }) }).map(({ k, v }) => JSON.stringify({ action: 'SET', target: k, value: JSON.stringify({ v }) })) },
  { weight: 1, arbitrary: fc.constantFrom('A', 'B').map((k) => JSON.stringify({ action: 'DELETE', target: k })) },
  // An entry the decoder cannot hash (BRI's encryption at rest stores base64): this thread decides about it.
  { weight: 1, arbitrary: fc.base64String({ minLength: 8, maxLength: 24 }) },
);

/** The damage done to the member's lines before it is compressed. */
const damage = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('pointer' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('entry' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('blank' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('garbage' as const), at: fc.nat() }),
);

/** The pointer before a member's first line, when the chain knows it. */
const start = 'a1b2c3d4';

/** A chained member: line i at time 1000 + i, its pointer from the line before (the first's from `start`), then the damage done. */
function chainedMember(entries: string[], dmg: { kind: 'none' | 'pointer' | 'entry' | 'blank' | 'garbage'; at?: number }, ended: boolean): Buffer {
  let prev = start;
  const texts = entries.map((e, i) => {
    const pointer = computePointer(prev, e);
    prev = pointer;
    return `${1000 + i}|${pointer}|${e}`;
  });
  if (dmg.kind !== 'none' && texts.length > 0) {
    const at = dmg.at! % texts.length;
    const [ts, ptr, ...rest] = texts[at]!.split('|');
    if (dmg.kind === 'pointer') texts[at] = `${ts}|${ptr === 'ffffffff' ? '00000000' : 'ffffffff'}|${rest.join('|')}`;
    else if (dmg.kind === 'entry') texts[at] = `${ts}|${ptr}|${rest.join('|').replace(/.$/, '#')}`;
    else if (dmg.kind === 'blank') texts[at] = '';
    else texts[at] = `${ts}|not-a-pointer`;
  }
  return Buffer.from(texts.join('\n') + (ended && texts.length > 0 ? '\n' : ''), 'utf8');
}

interface Outcome {
  lines: Array<[number, WalLine | null]>;
  written: string;
  result: object;
  firstBreak: unknown;
  state: unknown;
}

async function run(pass: (opts: Omit<WalMemberOptions, 'decrypt'>) => Promise<object>, prev: string | null, untilTimestamp: number | null): Promise<Outcome> {
  const chain = new ChainVerifier(prev);
  const lines: Outcome['lines'] = [];
  const written: Buffer[] = [];
  const r = (await pass({ chain, untilTimestamp, onLine: (p, n) => lines.push([n, p]), sink: (b) => void written.push(Buffer.from(b)) })) as Record<string, unknown>;
  const { release, storedSha256: _s, ...result } = r;
  (release as (() => void) | undefined)?.();
  // The content hash is the whole member's, and said only when the pass was not stopped.
  if (result.stopped) delete result.contentSha256;
  return { lines, written: Buffer.concat(written).toString('latin1'), result, firstBreak: chain.firstBreak, state: chain.state };
}

describe('passDecodedMember', () => {
  it('gives what the pass on this thread gives: lines, bytes, counts, stop and the chain verdict', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(entry, { minLength: 1, maxLength: 60 }),
        damage,
        fc.boolean(),
        fc.option(fc.integer({ min: 16, max: 600 }), { nil: undefined }),
        fc.option(fc.nat(70), { nil: null }),
        fc.boolean(),
        async (entries, dmg, knownPrev, stageBytes, cutAt, ended) => {
          const bytes = chainedMember(entries, dmg, ended);
          const stored = zstd(bytes);
          const storedSha = createHash('sha256').update(stored).digest('hex');
          const seg = { file: 'wal/000001.wal.zst', segment: '000001.wal', firstLine: 11, originalSize: bytes.length } as ManifestSegment;
          const until = cutAt === null ? null : 1000 + cutAt;
          const chainStart = knownPrev ? start : null;
          const ours = await run(
            (o) => passDecodedMember(new DecodedMember(Buffer.from(stored), { member: seg.file, limit: bytes.length, mode: { kind: 'check' }, stored: { sha256: storedSha, size: stored.length }, stageBytes }), storedSha, seg, o),
            chainStart,
            until,
          );
          const inline = await run((o) => passWalMember((async function* () { yield stored; })(), seg.file, seg, o), chainStart, until);
          expect(ours).toEqual(inline);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a member whose stored bytes differ from the sha256 given is ARCHIVE_CORRUPTED naming it, before any line is handed on', async () => {
    const bytes = Buffer.from(`1|00000000|{"action":"DELETE","target":"A"}\n`);
    const stored = zstd(bytes);
    const seg = { file: 'wal/000004.wal.zst', segment: '000004.wal', firstLine: 1, originalSize: bytes.length } as ManifestSegment;
    const seen: number[] = [];
    const decoded = new DecodedMember(Buffer.from(stored), { member: seg.file, limit: bytes.length, mode: { kind: 'check' }, stored: { sha256: '0'.repeat(64), size: stored.length } });
    await expect(passDecodedMember(decoded, '0'.repeat(64), seg, { chain: null, untilTimestamp: null, onLine: (_p, n) => seen.push(n) })).rejects.toMatchObject({ code: 'ARCHIVE_CORRUPTED', details: { member: 'wal/000004.wal.zst' } });
    expect(seen).toEqual([]);
  });
});

describe('a member summed up on the decoder thread (verify)', () => {
  it('stands for the pass when it vouches for every line, and does not vouch when the pass would find anything wrong', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 0, maxLength: 60 }), damage, fc.boolean(), fc.option(fc.integer({ min: 16, max: 600 }), { nil: undefined }), fc.boolean(), async (entries, dmg, knownPrev, stageBytes, ended) => {
        const bytes = chainedMember(entries, dmg, ended);
        const stored = zstd(bytes);
        const seg = { file: 'wal/000001.wal.zst', segment: '000001.wal', firstLine: 11, originalSize: bytes.length } as ManifestSegment;
        const chainStart = knownPrev ? start : null;
        const inlineChain = new ChainVerifier(chainStart);
        const inline = await passWalMember((async function* () { yield stored; })(), seg.file, seg, { chain: inlineChain, untilTimestamp: null });
        const { summary: s, content } = await new DecodedMember(Buffer.from(stored), { member: seg.file, limit: bytes.length, mode: { kind: 'check' }, summary: true, stageBytes }).summary();
        expect(content).toEqual({ sha256: inline.contentSha256, bytes: inline.contentBytes });
        // A line the pass would find wrong past the first is never vouched for.
        if (inlineChain.firstBreak !== null && inlineChain.firstBreak.lineNo > seg.firstLine) expect(s.unvouched).toBeGreaterThanOrEqual(0);
        if (s.unvouched >= 0) return;
        expect(s.lines).toBe(inline.lines);
        const chain = new ChainVerifier(chainStart);
        if (s.first !== null) chain.pushParsed({ lineNo: seg.firstLine, segment: seg.segment, segmentLine: 1 }, parseWalLine(s.first));
        chain.vouched(Math.max(0, s.lines - 1), s.lastPointer, s.lastTimestamp);
        expect({ firstBreak: chain.firstBreak, state: chain.state }).toEqual({ firstBreak: inlineChain.firstBreak, state: inlineChain.state });
        expect([s.firstTimestamp, s.lastTimestamp]).toEqual([inline.firstTimestamp, inline.lastTimestamp]);
      }),
      { numRuns: 300 },
    );
  });
});
