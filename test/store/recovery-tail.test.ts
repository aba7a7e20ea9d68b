/**
 * Recovery counts the segments its snapshot holds whole instead of decoding their lines: whatever the
 * WAL holds (blank lines, CR LF endings, lines that do not parse, a torn line, empty segments) and
 * wherever the snapshot's line falls, the result is the one a decode of every line gives.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computePointer } from '../../src/format/pointer.js';
import { emptyState } from '../../src/format/state.js';
import { makeDataDirLayout, segmentName, WAL_DIR } from '../../src/store/layout.js';
import { recover } from '../../src/store/recovery.js';
import { writeSnapshot } from '../../src/store/snapshot-store.js';
import { segmentTail } from '../../src/store/wal/wal-reader.js';

type Kind = 'op' | 'blank' | 'garbage';
const lineKind = fc.constantFrom<Kind>('op', 'op', 'op', 'op', 'blank', 'garbage');
const segmentSpec = fc.record({ kinds: fc.array(lineKind, { maxLength: 12 }), crlf: fc.boolean(), torn: fc.constantFrom<'no' | 'op' | 'garbage'>('no', 'no', 'no', 'op', 'garbage') });

async function settle<T>(p: Promise<T>): Promise<{ ok: T } | { code: string }> {
  try {
    return { ok: await p };
  } catch (err) {
    return { code: (err as { code?: string }).code ?? String(err) };
  }
}

describe('recovery of the segments a snapshot holds whole', () => {
  it('gives what decoding every line gives', async () => {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-recovery-tail-'));
    try {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(segmentSpec, { minLength: 1, maxLength: 5 }), fc.oneof(fc.nat(1000), fc.constantFrom(-1, -2, -3)), fc.boolean(), fc.boolean(), async (specs, snapAt, withSnapshot, emptyLast) => {
          // A rotation leaves an empty segment after the last one written.
          const segs = emptyLast ? [...specs, { kinds: [], crlf: false, torn: 'no' as const }] : specs;
          const dir = path.join(root, `d${run++}`);
          await makeDataDirLayout(dir);
          let prev = '';
          let ts = 1_000;
          let n = 0;
          const opLine = () => {
            const entry = JSON.stringify({ action: 'SET', target: `K${n % 7}`, value: `v${n}` });
            prev = computePointer(prev, entry);
            n++;
            return `${ts++}|${prev}|${entry}`;
          };
          let total = 0;
          const ends: number[] = [];
          for (const [i, seg] of segs.entries()) {
            const lines = seg.kinds.map((k) => (k === 'op' ? opLine() : k === 'blank' ? '' : `garbage ${n}`));
            total += lines.length;
            const eol = seg.crlf ? '\r\n' : '\n';
            let text = lines.map((l) => l + eol).join('');
            if (seg.torn !== 'no') {
              text += seg.torn === 'op' ? opLine() : 'torn|';
              total++;
            }
            await fsp.writeFile(path.join(dir, WAL_DIR, segmentName(i)), text);
            ends.push(total);
          }
          // Anywhere in the WAL, at its end, or past it (a snapshot the WAL does not reach is an error both ways); often at
          // the end of one of the last segments (negative: counted from the last), where a segment is held whole.
          const walLine = snapAt >= 0 ? snapAt % (total + 3) : (ends[Math.max(0, ends.length + snapAt)] ?? 0);
          if (withSnapshot) await writeSnapshot(dir, { version: 1, walLine, timestamp: 5, state: emptyState() });
          const fast = await settle(recover(dir, { invalidLines: 'skip' }));
          const full = await settle(recover(dir, { invalidLines: 'skip', readEveryLine: true }));
          expect(fast).toEqual(full);
          const strictFast = await settle(recover(dir));
          const strictFull = await settle(recover(dir, { readEveryLine: true }));
          expect(strictFast).toEqual(strictFull);
        }),
        { numRuns: 300 },
      );
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });

  it('segmentTail counts as the reader numbers and gives the last line, across reads of 1 MiB', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-segment-tail-'));
    try {
      const f = path.join(dir, 's.wal');
      const long = 'x'.repeat(700_000);
      await fsp.writeFile(f, `a\n${long}\n${long}\r\nlast one\r\n`);
      expect(await segmentTail(f)).toEqual({ lines: 4, torn: false, last: 'last one' });
      await fsp.writeFile(f, `a\n${long}\n${long}`);
      expect(await segmentTail(f)).toEqual({ lines: 3, torn: true, last: long });
      await fsp.writeFile(f, '');
      expect(await segmentTail(f)).toEqual({ lines: 0, torn: false, last: null });
      await fsp.writeFile(f, '\n');
      expect(await segmentTail(f)).toEqual({ lines: 1, torn: false, last: '' });
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
