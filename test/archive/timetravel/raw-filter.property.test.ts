/** filterLines hands over exactly the lines naming a needle (or every line of a piece it cannot see into), counts the rest, whatever the piece boundaries. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { filterLines } from '../../../src/archive/timetravel/raw-filter.js';

const line = fc.oneof(
  fc.record({ key: fc.constantFrom('A', 'B', 'AB', 'C"x', 'é'), v: fc.string({ maxLength: 8 }) }).map(({ key, v }) => `1|0000abcd|${JSON.stringify({ action: 'SET', target: key, value: v })}`),
  fc.base64String({ minLength: 4, maxLength: 20 }).map((b) => `2|0000abcd|${b}`),
);

describe('filterLines', () => {
  it('takes the lines that can name a needle, in order, and counts the others', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 40 }), fc.array(fc.nat(200), { maxLength: 10 }), fc.constantFrom('A', 'C"x', 'é'), async (lines, cuts, key) => {
        const bytes = Buffer.from(lines.map((l) => l + '\n').join(''), 'utf8');
        const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const pieces = [0, ...at, bytes.length].slice(1).map((end, i, all) => bytes.subarray(i === 0 ? 0 : all[i - 1]!, end)).filter((p) => p.length > 0);
        const taken: string[] = [];
        let skipped = 0;
        const lineNos: number[] = [];
        let n = 0;
        await filterLines(
          (async function* () {
            yield* pieces;
          })(),
          [Buffer.from(JSON.stringify(key))],
          (t) => {
            taken.push(t);
            lineNos.push(++n);
          },
          (k) => {
            skipped += k;
            n += k;
          },
        );
        expect(taken.length + skipped).toBe(lines.length);
        // Every line naming the key is taken, at its own number.
        lines.forEach((l, i) => {
          if (l.includes(JSON.stringify(key))) expect(lineNos).toContain(i + 1);
        });
        for (const [j, t] of taken.entries()) expect(t).toBe(lines[lineNos[j]! - 1]);
      }),
      { numRuns: 300 },
    );
  });
});
