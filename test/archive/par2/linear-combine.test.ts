import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mulAddReference } from '../../../src/archive/par2/math/kernel-ref.js';
import { planCombine, runCombine, type CombineOptions } from '../../../src/archive/par2/math/linear-combine.js';

/** Runs the engine on in-memory blocks and returns its outputs. */
async function combine(inputs: Uint8Array[], coef: number[][], B: number, options: CombineOptions): Promise<Uint8Array[]> {
  const M = coef.length;
  const outputs = Array.from({ length: M }, () => new Uint8Array(B));
  const writes = Array.from({ length: M }, () => 0);
  const shape = { inputCount: inputs.length, outputCount: M, blockBytes: B };
  await runCombine(
    {
      ...shape,
      fillCoefficients(first, count, dest) {
        for (let j = 0; j < M; j++) for (let i = 0; i < count; i++) dest[j * count + i] = coef[j]![first + i]!;
      },
      async readInput(index, offset, dest) {
        await Promise.resolve();
        const src = inputs[index]!.subarray(offset, offset + dest.length);
        dest.fill(0);
        dest.set(src);
      },
      async writeOutput(index, offset, data) {
        outputs[index]!.set(data, offset);
        writes[index]! += data.length;
      },
    },
    planCombine(shape, options),
    options,
  );
  for (const w of writes) expect(w).toBe(B); // every byte of every output delivered exactly once
  return outputs;
}

function naive(inputs: Uint8Array[], coef: number[][], B: number): Uint8Array[] {
  return coef.map((row) => {
    const out = new Uint8Array(B);
    row.forEach((c, i) => mulAddReference(out, inputs[i]!, c));
    return out;
  });
}

const job = fc
  .record({
    K: fc.integer({ min: 1, max: 12 }),
    M: fc.integer({ min: 1, max: 5 }),
    words: fc.integer({ min: 1, max: 300 }),
  })
  .chain(({ K, M, words }) =>
    fc.record({
      B: fc.constant(words * 2),
      inputs: fc.array(fc.uint8Array({ minLength: words * 2, maxLength: words * 2 }), { minLength: K, maxLength: K }),
      coef: fc.array(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: K, maxLength: K }), { minLength: M, maxLength: M }),
    }),
  );

describe('runCombine', () => {
  it('equals the reference on the calling thread, whatever the memory limit (one or many passes)', async () => {
    await fc.assert(
      fc.asyncProperty(job, fc.constantFrom(512, 4096, 1 << 20), fc.constantFrom<'wasm' | 'js'>('wasm', 'js'), async (j, limit, kernel) => {
        const got = await combine(j.inputs, j.coef, j.B, { memoryLimitBytes: limit, threads: 0, kernel });
        expect(got).toEqual(naive(j.inputs, j.coef, j.B));
      }),
      { numRuns: 60 },
    );
  });

  it('equals the reference with worker threads, split by outputs and by columns', async () => {
    await fc.assert(
      fc.asyncProperty(job, fc.constantFrom(1, 2), async (j, threads) => {
        const got = await combine(j.inputs, j.coef, j.B, { memoryLimitBytes: 4096, threads });
        expect(got).toEqual(naive(j.inputs, j.coef, j.B));
      }),
      { numRuns: 6 },
    );
  });

  it('splits narrow columns by outputs and wide ones by columns, on two threads', async () => {
    for (const B of [32, 64, 4000]) {
      const inputs = Array.from({ length: 5 }, (_, i) => Uint8Array.from({ length: B }, (_, k) => (k * 31 + i * 7) & 0xff));
      const coef = [
        [1, 2, 3, 4, 5],
        [0, 0x8000, 7, 0xffff, 9],
        [11, 0, 13, 14, 0],
      ];
      const got = await combine(inputs, coef, B, { memoryLimitBytes: 1 << 20, threads: 2 });
      expect(got).toEqual(naive(inputs, coef, B));
    }
  });

  it('plans several passes when outputs do not fit the memory limit', () => {
    const plan = planCombine({ inputCount: 2000, outputCount: 200, blockBytes: 1_000_000 }, { memoryLimitBytes: 64 << 20 });
    expect(plan.passes).toBeGreaterThan(1);
    expect(plan.memoryBytes).toBeLessThanOrEqual(64 << 20);
    expect(plan.columnBytes % 32).toBe(0);
    const one = planCombine({ inputCount: 2000, outputCount: 200, blockBytes: 100_000 }, { memoryLimitBytes: 64 << 20 });
    expect(one.passes).toBe(1);
  });
});
