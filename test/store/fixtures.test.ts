import { afterAll, describe, expect, it } from 'vitest';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createDB } from '../../src/db.js';
import { toPlainState } from '../../src/format/state.js';
import { parseEncryptionKey } from '../../src/format/encryption.js';
import { recover } from '../../src/store/recovery.js';
import { verifyChain } from '../../src/store/wal/chain.js';
import { copyFixture, FIXTURE_NAMES, fixtureKey, fixturesPresent, loadCheckpoints, normalizeState } from '../support/fixtures.js';

const made: string[] = [];
afterAll(async () => {
  for (const d of made) await fsp.rm(path.dirname(d), { recursive: true, force: true });
});
async function copy(name: (typeof FIXTURE_NAMES)[number]): Promise<string> {
  const d = await copyFixture(name);
  made.push(d);
  return d;
}

describe.skipIf(!fixturesPresent())('BRI fixtures', () => {
  for (const name of FIXTURE_NAMES) {
    const hex = fixtureKey(name);
    const key = hex ? parseEncryptionKey(hex) : undefined;

    it(`${name}: opens to its last expected state`, async () => {
      const dir = await copy(name);
      const checkpoints = loadCheckpoints(name);
      const db = await createDB({ storeConfig: { dataDir: dir, encryptionKey: hex, snapshotOnClose: false } });
      try {
        expect(normalizeState(toPlainState(db.state))).toEqual(normalizeState(checkpoints[checkpoints.length - 1]!.state));
      } finally {
        await db.close();
      }
    });

    it(`${name}: replaying the raw WAL up to each checkpoint gives that checkpoint's state`, async () => {
      const dir = await copy(name);
      const checkpoints = loadCheckpoints(name);
      expect(checkpoints.length).toBeGreaterThan(1);
      for (const cp of checkpoints) {
        const rec = await recover(dir, { encryptionKey: key, ignoreSnapshot: true, untilTimestamp: cp.at });
        expect(normalizeState(toPlainState(rec.state)), `round ${cp.afterRound}`).toEqual(normalizeState(cp.state));
      }
    });

    it(`${name}: the chain verifies`, async () => {
      const dir = await copy(name);
      const report = await verifyChain(dir, { encryptionKey: key });
      expect(report.ok).toBe(true);
      expect(report.pointersChecked).toBe(true);
      expect(report.anchored).toBe(false);
    });
  }

  it('encrypted: a clear error without the key, and nothing changes', async () => {
    const dir = await copy('encrypted');
    const before = await fsp.readdir(path.join(dir, 'wal'));
    const saved = process.env.BRI_ENCRYPTION_KEY;
    delete process.env.BRI_ENCRYPTION_KEY;
    try {
      await expect(createDB({ storeConfig: { dataDir: dir } })).rejects.toMatchObject({
        code: 'ENCRYPTION_KEY_MISSING',
        hint: expect.stringContaining('BRI_ENCRYPTION_KEY'),
      });
    } finally {
      if (saved !== undefined) process.env.BRI_ENCRYPTION_KEY = saved;
    }
    expect(await fsp.readdir(path.join(dir, 'wal'))).toEqual(before);
    await expect(fsp.access(path.join(dir, 'bri.lock'))).rejects.toThrow();
  });

  it('encrypted: a wrong key is refused with DECRYPTION_FAILED', async () => {
    const dir = await copy('encrypted');
    await expect(createDB({ storeConfig: { dataDir: dir, encryptionKey: 'ff'.repeat(32) } })).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
  });

  it('crashed: the 266 lines after the snapshot are replayed', async () => {
    const dir = await copy('crashed');
    const rec = await recover(dir);
    expect(rec.snapshot?.walLine).toBe(364);
    expect(rec.totalLines).toBe(630);
    expect(rec.replayed).toBe(266);
  });
});
