/**
 * Documents renamed along long chains (the common "write tmp_i, rename it to ORDER_i" pattern, or one
 * document renamed from name to name): a name the answer needs was found one per scan, and past 64
 * scans the internal signal came out as the answer ("internal error: [object Object]"). Every name is
 * now found in one scan of every rename, so an answer takes at most three scans.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-rename-chains-');
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('time travel through long chains of renames', () => {
  it('reads, follows and rolls back a document renamed through 70 names, in at most three scans', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      await db.set('plain', 'p');
      await db.set('v0', 'doc');
      for (let i = 0; i < 70; i++) await db.rename(`v${i}`, `v${i + 1}`);
      await db.archive.create();
      await tick();
      const at = Date.now();
      const once = await db.restore.read('plain', { at });
      const r = await db.restore.read('v70', { at });
      expect(r.document).toBe('doc');
      expect(r.read.bytes).toBeLessThanOrEqual(3 * once.read.bytes);
      const h = await db.restore.history('v70');
      expect(h.entries.map((e) => e.key)).toEqual(['v0', ...Array.from({ length: 70 }, (_, i) => `v${i + 1}`)]);
      const back = await db.restore.rollback(['v70'], { at, dryRun: true });
      expect(back.items.map((i) => [i.key, i.atT, i.action])).toEqual([['v70', 'doc', 'none']]);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('restore keys --prefix rolls back 70 orders each written as tmp_i and renamed into ORDER_i (it failed with an internal error)', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    let at: number;
    try {
      for (let i = 0; i < 70; i++) {
        await db.set(`tmp_${i}`, `order ${i}`);
        await db.rename(`tmp_${i}`, `ORDER_${i}`);
      }
      await db.archive.create();
      await tick();
      at = Date.now();
      await tick();
      await db.set('ORDER_1', 'changed');
    } finally {
      await db.close();
    }
    const cli = await runCli(['restore', 'keys', '--prefix', 'ORDER_', '--at', new Date(at).toISOString(), '-d', dataDir, '--dry-run', '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    const items = (JSON.parse(cli.stdout) as { items: Array<{ key: string; atT: string | null; action: string }> }).items;
    expect(items).toHaveLength(70);
    expect(items.filter((i) => i.action !== 'none').map((i) => [i.key, i.atT, i.action])).toEqual([['ORDER_1', 'order 1', 'set']]);
  }, 60_000);
});
