/**
 * A data directory whose own instance has nothing archived yet (rolled back in place, or a clone, and written
 * to since) was restored from the newest state of the instance it came from, exit 0: the rolled-back write
 * came back, a clone of a clone got production's writes made after the fork. Its newest state, or a moment
 * after it began, is in no archive: refused with the way on (`bri archive create`, --instance on purpose).
 * A moment up to where it began is the same in both lines of history: restored, as a new instance.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import type { RemoteConfig } from '../../../src/remote/registry.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-own-state-');
const tick = () => new Promise((r) => setTimeout(r, 15));

/** Sets `kv` in `dataDir`, then archives when `archive`; the time just after the last write. */
async function write(dataDir: string, kv: Record<string, string>, archive: boolean, remotes: RemoteConfig[] = []): Promise<number> {
  const db = await createDB({ storeConfig: { dataDir, archive: { remotes, compression: { level: 1 } } } });
  try {
    for (const [k, v] of Object.entries(kv)) await db.set(k, { v });
    await tick();
    const after = Date.now();
    await tick();
    if (archive) await db.archive.create();
    return after;
  } finally {
    await db.close();
  }
}

async function dump(dataDir: string): Promise<Record<string, string>> {
  const db = await createDB({ storeConfig: { dataDir } });
  try {
    const out: Record<string, string> = {};
    for (const k of ['A', 'B', 'X', 'Y', 'Z']) {
      const d = await db.get(k);
      if (d !== null && d !== undefined) out[k] = (d as { v: string }).v;
    }
    return out;
  } finally {
    await db.close();
  }
}

describe('restore of a data directory whose own instance has archived nothing yet', () => {
  it('after a rollback in place, refuses its newest state and a moment after the rollback point (never the rolled-back write), restores a moment before it as a new instance', async () => {
    const root = await tmp();
    const p = path.join(root, 'p');
    await write(p, { A: 'good', B: '1' }, true);
    const fork = await write(p, { X: '1' }, true);
    const bad = await write(p, { A: 'BAD' }, true);
    const old = (await readArchiveState(p))!.instanceId;
    const rolled = await runCli(['restore', 'to-timestamp', String(fork), '-d', p, '--force', '-q']);
    expect(rolled.code, rolled.stderr).toBe(0);
    await write(p, { Z: 'after' }, false);
    const own = (await readArchiveState(p))!;
    expect(own.instanceId).not.toBe(old);

    const drill = path.join(root, 'drill');
    const latest = await runCli(['restore', 'latest', '-d', p, '--target', drill]);
    expect(latest.code, latest.stderr).toBe(20);
    expect(latest.stderr).toContain('[ARCHIVE_NOT_FOUND]');
    expect(latest.stderr).toContain(own.instanceId);
    expect(latest.stderr).toContain('bri archive create');
    expect(latest.stderr).toContain(`--instance ${old}`);
    expect(fs.existsSync(drill)).toBe(false);

    const api = openRestore({ dataDir: p });
    try {
      const after = await api.toTimestamp(bad, { targetDir: path.join(root, 'x') }).then(() => null, (e: unknown) => e as { code?: string; hint?: string });
      expect(after?.code).toBe('TIMESTAMP_NOT_FOUND');
      expect(fs.existsSync(path.join(root, 'x'))).toBe(false);
      // Up to where the directory began, its history is the old instance's: restored from it, never continuing it.
      const before = await api.toTimestamp(own.origin!.timestamp, { targetDir: path.join(root, 'y') });
      expect(before.instanceId).not.toBe(old);
      expect(before.plan.continuesChain).toBe(false);
      expect((await dump(path.join(root, 'y'))).A).toBe('good');
      // Named, the old instance's newest state is restored on purpose.
      const named = await api.fromLatest({ targetDir: path.join(root, 'z'), instanceId: old });
      expect(named.plan.instanceId).toBe(old);
    } finally {
      await api.close();
    }
  }, 120_000);

  it("refuses a clone of a clone that has not archived (on its origin's remote), which took production's writes made after the fork", async () => {
    const root = await tmp();
    const remote: RemoteConfig = { provider: 'local', name: 'nas', path: path.join(root, 'nas') };
    await fsp.mkdir(remote.path);
    const p = path.join(root, 'p');
    const c = path.join(root, 'c');
    await write(p, { A: 'p1', B: 'p1' }, true, [remote]);
    const cloner = openRestore({ dataDir: p, config: { remotes: [remote] } });
    await cloner.clone({ targetDir: c }).finally(() => cloner.close());
    await write(c, { A: 'c1', X: 'c1' }, false, [remote]);
    await write(p, { A: 'p2', Y: 'p2' }, true, [remote]);
    const pId = (await readArchiveState(p))!.instanceId;

    const api = openRestore({ dataDir: c, config: { remotes: [remote] } });
    try {
      const refused = await api.clone({ targetDir: path.join(root, 'cc') }).then(() => null, (e: unknown) => e as { code?: string; hint?: string });
      expect(refused?.code).toBe('ARCHIVE_NOT_FOUND');
      expect(refused?.hint).toContain(`--instance ${pId}`);
      expect(fs.existsSync(path.join(root, 'cc'))).toBe(false);
      const inPlace = await api.fromLatest({ targetDir: path.join(root, 'cl'), dryRun: true }).then(() => null, (e: unknown) => e as { code?: string });
      expect(inPlace?.code).toBe('ARCHIVE_NOT_FOUND');
    } finally {
      await api.close();
    }
  }, 120_000);
});
