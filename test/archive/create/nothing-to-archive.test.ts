/** A create with nothing new names, in its error's details, the archive that already holds everything. */
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { createArchive } from '../../../src/archive/create/create.js';
import { createDB } from '../../../src/db.js';
import { isBriError } from '../../../src/errors.js';
import { offlineSealer } from '../../../src/store/offline.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-nothing-new-');

it('NOTHING_TO_ARCHIVE carries details.heldBy: the archive that holds everything and its end line (null before any archive)', async () => {
  const root = await tmp();
  const [dataDir, archiveDir] = [path.join(root, 'data'), path.join(root, 'arch')];
  const db = await createDB({ storeConfig: { dataDir } });
  await db.close();
  const create = () => createArchive({ dataDir, archiveDir, seal: offlineSealer(dataDir, undefined), level: 1 });
  const empty = await create().catch((e: unknown) => e);
  expect(isBriError(empty, 'NOTHING_TO_ARCHIVE') && empty.details.heldBy).toBeNull();

  const w = await createDB({ storeConfig: { dataDir } });
  for (let i = 0; i < 5; i++) await w.set(`k${i}`, { i });
  await w.close();
  const made = await create();
  const again = await create().catch((e: unknown) => e);
  expect(isBriError(again, 'NOTHING_TO_ARCHIVE') && again.details.heldBy).toEqual({ archiveId: made.archiveId, endLine: made.manifest.timeRange.walLines.end });
});
