/**
 * A moment two archives hold (after the older one's last line, before its seal: the newer one starts
 * at that line) restores from the one that needs no key: a plaintext archive followed by one encrypted
 * with age gives that moment back without an identity.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-plan-keys-');
const pause = () => new Promise((res) => setTimeout(res, 15));

describe('planning a restore to a moment two archives hold', () => {
  it('takes the plaintext archive before an encrypted one, so no identity is asked for; past it, the encrypted one names itself', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const recipient = await identityToRecipient(await generateIdentity());
    const plain = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await plain.set('P', { p: 1 });
    const state = toPlainState(plain.state);
    await pause();
    const between = Date.now();
    await pause();
    const first = await plain.archive.create();
    await plain.close();
    const sealed = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, encryption: { recipients: [recipient] } } } });
    await sealed.set('E', { e: 1 });
    const second = await sealed.archive.create();
    await sealed.close();
    expect(second.manifest.timeRange.start.getTime()).toBeLessThanOrEqual(between);
    expect(between).toBeLessThanOrEqual(first.manifest.timeRange.sealedAt.getTime());
    const api = openRestore({ dataDir, config: {} });
    try {
      const target = path.join(r, 'between');
      const plan = await api.plan({ kind: 'timestamp', timestamp: between });
      expect(plan.archive?.manifest.archiveId).toBe(first.archiveId);
      await api.toTimestamp(between, { targetDir: target, identity: { identities: [], passphrases: [], source: 'none' } });
      expect(toPlainState((await recover(target)).state)).toEqual(state);
      const later = await api.fromLatest({ targetDir: path.join(r, 'latest') }).then(() => null, (e: unknown) => e as { code?: string; message?: string });
      expect(later?.code).toBe('ENCRYPTION_KEY_MISSING');
      expect(later?.message).toContain(second.archiveId);
    } finally {
      await api.close();
    }
  }, 60_000);
});
