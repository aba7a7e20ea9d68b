/**
 * openRestore({ dataDir }) of a database encrypted at rest read its key from `key` (bytes) alone: with
 * BRI_ENCRYPTION_KEY set (what createDB and the CLI read) it was ENCRYPTION_KEY_MISSING, whose hint said to set
 * that very variable "or pass encryptionKey", an option it ignored; a hex string as `key` was taken for bytes.
 */
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import type { EncryptionKey } from '../../../src/format/encryption.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-open-restore-key-');
const HEX = '0123456789abcdef'.repeat(4);
/** The document as read answers it: the stored JSS text of a plain object. */
const docOf = (d: unknown): unknown => (typeof d === 'string' ? JSON.parse(d) : d);

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('openRestore of a database encrypted at rest', () => {
  it('takes the key from BRI_ENCRYPTION_KEY or encryptionKey, as createDB does; a hex key or an unknown option is USAGE', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir, encryptionKey: HEX, archive: { compression: { level: 1 } } } });
    await db.set('K', { v: 1 });
    await db.archive.create();
    await db.close();
    const at = Date.now();

    vi.stubEnv('BRI_ENCRYPTION_KEY', '');
    await expect(openRestore({ dataDir }).read('K', { at })).rejects.toMatchObject({ code: 'ENCRYPTION_KEY_MISSING' });
    expect(docOf((await openRestore({ dataDir, encryptionKey: HEX }).read('K', { at })).document)).toEqual({ v: 1 });
    expect(() => openRestore({ dataDir, key: HEX as unknown as EncryptionKey })).toThrowError(expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/key must be the key's 32 bytes/) }));
    expect(() => openRestore({ dataDir, encryptionkey: HEX } as unknown as { dataDir: string })).toThrowError(expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/unknown option\(s\) 'encryptionkey'/) }));

    vi.stubEnv('BRI_ENCRYPTION_KEY', HEX);
    expect(docOf((await openRestore({ dataDir }).read('K', { at })).document)).toEqual({ v: 1 });
    const restored = await openRestore({ dataDir }).fromLatest({ targetDir: path.join(root, 'restored') });
    expect(restored.warnings.filter((w) => /no key was given/.test(w))).toEqual([]);
    expect(restored.documents).toBe(1);
  }, 60_000);
});
