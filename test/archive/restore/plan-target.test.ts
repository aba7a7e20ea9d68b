/**
 * RestoreApi.plan parses a point in time as toTimestamp and findForTimestamp do: an ISO string plans that
 * moment, and a time left out or unreadable is USAGE, never a plan for the newest state in its place.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import type { RestoreTargetInput } from '../../../src/archive/restore/plan.js';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-plan-target-');
const pause = () => new Promise((res) => setTimeout(res, 15));

describe('RestoreApi.plan with a timestamp target', () => {
  it('plans the moment an ISO string names, and refuses a missing or unreadable time with USAGE', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.set('A', { v: 1 });
    await pause();
    const between = Date.now();
    await pause();
    await db.set('A', { v: 2 });
    await db.archive.create();
    await db.close();
    const api = openRestore({ dataDir, config: {} });
    try {
      const iso = new Date(between).toISOString();
      const byIso = await api.plan({ kind: 'timestamp', timestamp: iso });
      const byMs = await api.plan({ kind: 'timestamp', timestamp: between });
      expect(byIso.untilTimestamp).toBe(between);
      expect(byIso.target).toEqual({ kind: 'timestamp', timestamp: between });
      expect(byIso.linesToReplay).toBe(byMs.linesToReplay);
      for (const timestamp of [undefined, null, '', Infinity, 'yesterday', {}]) {
        const err = await api.plan({ kind: 'timestamp', timestamp } as unknown as RestoreTargetInput).then(() => null, (e: unknown) => e);
        expect(err, `timestamp ${String(timestamp)}`).toMatchObject({ code: 'USAGE', hint: expect.stringContaining('Give timestamp as') });
      }
      const bogus = await api.plan({ kind: 'latests' } as unknown as RestoreTargetInput).then(() => null, (e: unknown) => e);
      expect(bogus).toMatchObject({ code: 'USAGE', message: expect.stringContaining('latests') });
    } finally {
      await api.close();
    }
  }, 60_000);
});
