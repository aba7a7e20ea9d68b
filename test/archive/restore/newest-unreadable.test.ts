/**
 * `latest` is the end of the newest archive: when the newest archive file cannot be read on any copy
 * (its manifest cut), planning `latest` from the older one would lose its lines silently. It is
 * ARCHIVE_CORRUPTED naming the file, with the way to restore the older state by name.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { listSources } from '../../../src/archive/copies/catalog.js';
import { ArchiveSources } from '../../../src/archive/copies/sources.js';
import { planFor } from '../../../src/archive/restore/planner.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-newest-unreadable-');

describe('planning latest with the newest archive unreadable', () => {
  it('is ARCHIVE_CORRUPTED naming the unreadable file, not the older archive restored as the latest; an older unreadable file stops nothing', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const archiveDir = path.join(dataDir, 'archives');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    const made = [];
    for (const k of ['A', 'B', 'C']) {
      await db.set(k, { k });
      made.push(await db.archive.create());
    }
    await db.close();
    const sources = new ArchiveSources([]);
    const plan = async () => {
      const listing = await listSources(archiveDir, sources);
      return planFor({ archives: listing.archives, sources, order: sources.order, unreachable: listing.unreachable, unreadable: listing.unreadable }, { kind: 'latest' });
    };
    // Cut inside its manifest, as a copy stopped short or rotted there.
    const cut = async (file: string) => fsp.writeFile(file, (await fsp.readFile(file)).subarray(0, 700));
    await cut(made[0]!.file);
    expect((await plan()).archive?.manifest.archiveId).toBe(made[2]!.archiveId);
    await cut(made[2]!.file);
    const refused = await plan().then(() => null, (e: unknown) => e as { code?: string; message?: string; hint?: string });
    expect(refused?.code).toBe('ARCHIVE_CORRUPTED');
    expect(refused?.message).toContain(made[2]!.file);
    expect(refused?.hint).toContain(`bri restore from ${made[1]!.archiveId}`);
    // The older state is there on purpose, by name.
    expect((await planFor({ archives: (await listSources(archiveDir, sources)).archives, sources, order: sources.order, unreachable: [] }, { kind: 'archive', archiveId: made[1]!.archiveId })).archive?.manifest.archiveId).toBe(made[1]!.archiveId);
  }, 60_000);
});
