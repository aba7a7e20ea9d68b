/**
 * `archive create` with a retention in days on a host whose clock is behind (a VM booted before NTP
 * synced): the days are counted from the archive's own seal, not from a clock that dates it before the
 * lines it holds were written, so the next create's prune does not delete it days early. The create says
 * the clock is behind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-retention-clock-');
const DAY_MS = 86_400_000;

afterEach(() => {
  vi.useRealTimers();
});

describe('archive create with a retention in days and the host clock a year behind', () => {
  it('counts the days from the archive\'s seal (not the clock), warns that the clock is behind, and the next create\'s prune keeps it', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      await db.set('X', { v: 1 });
      await db.set('X', { v: 2 });
      vi.useFakeTimers({ toFake: ['Date'], now: new Date('2025-01-01T00:00:00Z') });
      const made = await db.archive.create({ retention: { days: 30 } });
      vi.useRealTimers();
      const m = made.manifest;
      expect(m.createdAt.getTime()).toBeLessThan(m.timeRange.end.getTime());
      expect(m.retentionUntil!.getTime()).toBeGreaterThanOrEqual(m.timeRange.sealedAt.getTime() + 30 * DAY_MS);
      expect(made.warnings.join('\n')).toMatch(/clock .* is behind/);
      await db.set('X', { v: 3 });
      const next = await db.archive.create();
      expect(next.prune && 'removed' in next.prune ? next.prune.removed : []).toEqual([]);
      expect(fs.existsSync(made.file)).toBe(true);
    } finally {
      vi.useRealTimers();
      await db.close();
    }
  });
});
