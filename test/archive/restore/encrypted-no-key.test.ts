import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { parseEncryptionKey } from '../../../src/format/encryption.js';
import { toPlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { makeTempDir } from '../../support/fixtures.js';

const HEX = 'c0ffee'.padEnd(64, '7');

describe('a restore of data encrypted at rest (BRI\'s key)', () => {
  it('without the key: restored byte for byte, and the result says what it could not check instead of a bare null count', async () => {
    const root = await makeTempDir('bri-enc-nokey-');
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir, encryptionKey: HEX, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 25; i++) await db.set(`K_${i}`, { i });
    await db.archive.create();
    const state = toPlainState(db.state);
    await db.close();
    const key = parseEncryptionKey(HEX);

    const blind = await openRestore({ dataDir }).fromLatest({ targetDir: path.join(root, 'blind') });
    expect(blind.linesRestored).toBe(25);
    expect(blind.documents).toBeNull();
    expect(blind.warnings.join('\n')).toMatch(/encrypted at rest and no key was given.*hash chain.*not checked/);
    // What it restored is whole: the key opens it to the state.
    expect(toPlainState((await recover(path.join(root, 'blind'), { encryptionKey: key })).state)).toEqual(state);

    const seen = await openRestore({ dataDir, key }).fromLatest({ targetDir: path.join(root, 'seen') });
    expect(seen.documents).toBe(25);
    expect(seen.warnings.join('\n')).not.toMatch(/no key was given/);
  });
});
