import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../../src/store/wal/chain.js';
import { listSegments } from '../../../src/store/layout.js';
import { parseEncryptionKey } from '../../../src/format/encryption.js';
import { copyFixture, FIXTURE_NAMES, fixtureKey, fixturesPresent, type FixtureName } from '../../support/fixtures.js';

interface Located {
  file: string;
  segment: string;
  lines: string[];
  index: number;
}

/** The segment and in-segment index of global line `lineNo` (1-based). */
async function locate(dir: string, lineNo: number): Promise<Located> {
  let seen = 0;
  for (const seg of await listSegments(dir)) {
    const text = await fsp.readFile(seg.path, 'utf8');
    const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
    if (lineNo <= seen + lines.length) return { file: seg.path, segment: seg.name, lines, index: lineNo - seen - 1 };
    seen += lines.length;
  }
  throw new Error(`no line ${lineNo}`);
}

async function writeLines(loc: Located): Promise<void> {
  await fsp.writeFile(loc.file, loc.lines.map((l) => l + '\n').join(''));
}

describe.skipIf(!fixturesPresent())('chain verification names the first bad line', () => {
  const originals = new Map<FixtureName, string>();
  const totals = new Map<FixtureName, number>();
  beforeAll(async () => {
    for (const name of FIXTURE_NAMES) {
      const dir = await copyFixture(name);
      originals.set(name, dir);
      totals.set(name, (await verifyChain(dir, { encryptionKey: keyOf(name) })).lines);
    }
  });
  afterAll(async () => {
    for (const d of originals.values()) await fsp.rm(path.dirname(d), { recursive: true, force: true });
  });
  const keyOf = (name: FixtureName) => {
    const hex = fixtureKey(name);
    return hex ? parseEncryptionKey(hex) : undefined;
  };

  async function scratch(name: FixtureName): Promise<string> {
    const dir = originals.get(name)! + '-scratch';
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.cp(originals.get(name)!, dir, { recursive: true });
    return dir;
  }

  for (const name of FIXTURE_NAMES) {
    it(`${name}: one changed line is reported at that line with expected and found pointers`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: totals.get(name)! }), async (lineNo) => {
          const dir = await scratch(name);
          const loc = await locate(dir, lineNo);
          const [ts, ptr, entry] = loc.lines[loc.index]!.split('|') as [string, string, string];
          // Change one character of the entry, keeping it a well-formed line.
          const changed = name === 'encrypted' ? entry.slice(0, 20) + (entry[20] === 'A' ? 'B' : 'A') + entry.slice(21) : entry.replace('"target":"', '"target":"Z');
          loc.lines[loc.index] = `${ts}|${ptr}|${changed}`;
          await writeLines(loc);
          const r = await verifyChain(dir, { encryptionKey: keyOf(name) });
          expect(r.ok).toBe(false);
          expect(r.firstBreak).toMatchObject({ lineNo, segment: loc.segment, segmentLine: loc.index + 1 });
          if (name === 'encrypted') expect(r.firstBreak!.reason).toBe('decrypt-failed');
          else expect(r.firstBreak).toMatchObject({ reason: 'pointer-mismatch', found: ptr });
        }),
        { numRuns: 8 },
      );
    });

    it(`${name}: a dropped line is reported at the line that follows it`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: totals.get(name)! - 1 }), async (lineNo) => {
          const dir = await scratch(name);
          const loc = await locate(dir, lineNo);
          loc.lines.splice(loc.index, 1);
          await writeLines(loc);
          const r = await verifyChain(dir, { encryptionKey: keyOf(name) });
          expect(r.ok).toBe(false);
          expect(r.firstBreak!.lineNo).toBe(lineNo);
          expect(r.firstBreak!.reason).toBe('pointer-mismatch');
        }),
        { numRuns: 8 },
      );
    });

    it(`${name}: two swapped lines are reported at the first of them`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: totals.get(name)! - 1 }), async (lineNo) => {
          const dir = await scratch(name);
          const loc = await locate(dir, lineNo);
          fc.pre(loc.index + 1 < loc.lines.length); // both in one segment
          [loc.lines[loc.index], loc.lines[loc.index + 1]] = [loc.lines[loc.index + 1]!, loc.lines[loc.index]!];
          await writeLines(loc);
          const r = await verifyChain(dir, { encryptionKey: keyOf(name) });
          expect(r.ok).toBe(false);
          expect(r.firstBreak!.lineNo).toBe(lineNo);
        }),
        { numRuns: 8 },
      );
    });
  }

  it('a garbage line is reported as unparsable; a torn last line is tolerated', async () => {
    const dir = await scratch('small');
    const loc = await locate(dir, 100);
    loc.lines[loc.index] = 'garbage!';
    await writeLines(loc);
    const r = await verifyChain(dir);
    expect(r.firstBreak).toMatchObject({ lineNo: 100, reason: 'unparsable', found: null });

    const dir2 = await scratch('crashed');
    const segs = await listSegments(dir2);
    await fsp.appendFile(segs[segs.length - 1]!.path, '1795492782999|abcd');
    const r2 = await verifyChain(dir2);
    expect(r2.ok).toBe(true);
    expect(r2.tornTail).toMatchObject({ lineNo: 631 });
  });

  it('without the key, an encrypted log is checked for format only and says so', async () => {
    const r = await verifyChain(originals.get('encrypted')!);
    expect(r.ok).toBe(true);
    expect(r.pointersChecked).toBe(false);
  });
});
