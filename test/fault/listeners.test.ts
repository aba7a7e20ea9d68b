/**
 * Listeners are the application's code: one that throws never takes the host down (an unhandled
 * rejection from a timer-driven shipping tick), never turns a made archive into a failure, never
 * counts as a failed shipment. Its error is said as a process warning (BRI_LISTENER_ERROR).
 * And flushShipping answers what it did: with shipping off it is USAGE, not a flush.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnTs, waitExit } from '../support/child.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-listeners-');

describe('event listeners that throw', () => {
  it('an application whose every archive, shipping and restore listener throws or rejects keeps running: the archive is made and uploaded, the skip is a skip, shipping ships, a listener after a throwing one still hears, restores are made, the process exits 0', async () => {
    const r = await tmp();
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const child = spawnTs('test/fault/children/throwing-listeners.ts', [path.join(r, 'data'), nas]);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const exit = await waitExit(child);
    expect(exit.code, stderr).toBe(0);
    const out = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(out.create).toEqual({ ok: true, uploads: ['uploaded'] });
    expect(out.again).toEqual({ ok: false, code: 'NOTHING_TO_ARCHIVE' });
    expect(out.status).toEqual([{ source: 'nas', lastError: null, lagLines: 0 }]);
    expect(out.seen).toEqual(expect.arrayContaining(['finished', 'progress', 'shipping', 'skipped', 'started', 'upload']));
    expect(out.seen).not.toContain('failed');
    expect(out.warnings).toEqual(['BRI_LISTENER_ERROR']);
    // Async listeners after a throwing one are called, and their rejections are warnings, not the host's end.
    expect(out.heard).toEqual(['finished', 'shipping', 'started']);
    expect(out.restored).toEqual([0, 1, 2].map(() => ({ ok: true, lastLine: 30 })));
  }, 60_000);
});

describe('flushShipping', () => {
  it('without continuous shipping is USAGE, not a flush that shipped nothing', async () => {
    const r = await tmp();
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const { createDB } = await import('../../src/db.js');
    const db = await createDB({ storeConfig: { dataDir: path.join(r, 'data'), archive: { remotes: [{ provider: 'local', name: 'nas', path: nas }] } } });
    try {
      await db.set('K', { v: 1 });
      await expect(db.archive.flushShipping()).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('continuous shipping is off') });
    } finally {
      await db.close();
    }
  });
});
