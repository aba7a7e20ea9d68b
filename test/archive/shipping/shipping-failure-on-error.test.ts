/**
 * Shipping that fails (a remote down) was said only through 'shipping' events and the status: an application
 * alerting from the onError hook (as the README shows) heard nothing while its lines stayed on one disk. The
 * hook now hears the first failure of each streak, once per remote, not every retry.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const root = useTempDirs('bri-ship-onerror-');

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('continuous shipping to a remote that goes down', () => {
  it('tells onError once per failing streak (not at every retry), naming the remote, and again after it shipped and failed anew', async () => {
    const r = await root();
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const errors: Array<{ code?: string; message?: string }> = [];
    const events: string[] = [];
    const archive = { remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], continuous: { enabled: true, intervalMs: 20 }, compression: { level: 1 }, hooks: { onError: (e: unknown) => void errors.push(e as { code?: string }) } };
    const db = await createDB({ storeConfig: { dataDir: path.join(r, 'data'), archive } });
    db.archive.on('shipping', (e: { kind: string }) => void events.push(e.kind));
    await db.set('A', { v: 1 });
    await db.archive.flushShipping();
    expect(errors).toEqual([]);

    await fsp.rename(nas, `${nas}.away`);
    await db.set('B', { v: 1 });
    await until('two failed shipping runs', () => events.filter((k) => k === 'ship-failed').length >= 2);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/nas/);

    await fsp.rename(`${nas}.away`, nas);
    await db.archive.flushShipping();
    await fsp.rename(nas, `${nas}.away`);
    const failedBefore = events.filter((k) => k === 'ship-failed').length;
    await db.set('C', { v: 1 });
    await until('a new failing streak', () => events.filter((k) => k === 'ship-failed').length > failedBefore);
    expect(errors).toHaveLength(2);
    await db.close().catch((e: { code?: string }) => expect(e.code).toBe('REMOTE_ERROR'));
  }, 60_000);
});
