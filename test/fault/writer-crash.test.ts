import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BriStore } from '../../src/store/store.js';
import { verifyChain } from '../../src/store/wal/chain.js';
import { collectLines, prng, spawnTs, waitExit } from '../support/child.js';
import { makeTempDir } from '../support/fixtures.js';

const RUNS = 24;
const root = await makeTempDir('bri-crash-');
afterAll(() => fsp.rm(root, { recursive: true, force: true }));

describe('a writer killed with SIGKILL at random moments', () => {
  it(`loses no acknowledged write and keeps the chain (${RUNS} kills)`, async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    const dataDir = path.join(root, 'data');
    const acked = new Set<number>();
    let next = 0;
    let kills = 0;
    for (let run = 0; run < RUNS; run++) {
      const child = spawnTs('test/fault/children/writer.ts', [dataDir, String(next)]);
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      let ready!: () => void;
      const isReady = new Promise<void>((r) => (ready = r));
      collectLines(child, (line) => {
        if (line === 'ready') ready();
        else if (line.startsWith('ack ')) acked.add(Number(line.slice(4)));
      });
      await Promise.race([isReady, waitExit(child)]);
      expect(child.exitCode, `child failed to start (seed ${seed}): ${stderr}`).toBeNull();
      await new Promise((r) => setTimeout(r, 5 + random() * 250));
      child.kill('SIGKILL');
      const exit = await waitExit(child);
      if (exit.signal === 'SIGKILL') kills++;

      const db = await BriStore.open({ dataDir, snapshotOnClose: false });
      try {
        for (const n of acked) {
          expect(db.get(`K_${n}`), `write ${n} acknowledged before kill ${run} (seed ${seed})`).toEqual({ n, pad: 'p'.repeat(n % 50) });
          expect(db.sMembers('ALL')).toContain(String(n));
        }
        next = Math.max(next, ...acked, ...db.keys('K_').map((k) => Number(k.slice(2)))) + 1;
      } finally {
        await db.close();
      }
      const chain = await verifyChain(dataDir);
      expect(chain.ok, `chain after kill ${run} (seed ${seed}): ${JSON.stringify(chain.firstBreak)}`).toBe(true);
    }
    expect(kills).toBeGreaterThanOrEqual(20);
    expect(acked.size).toBeGreaterThan(RUNS);
  }, 240_000);
});
