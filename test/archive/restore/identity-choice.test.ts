/**
 * Recipients changed between two archives (k1, then k2). A moment after the first archive's last line and
 * before its seal is held by both (the second starts at that line): the same state. Asked with k1, the
 * archive k1 opens is read (restore plan, time travel); it was the newest, k2's, and the answer
 * DECRYPTION_FAILED "encrypted for other recipients".
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { listSources } from '../../../src/archive/copies/catalog.js';
import { ArchiveSources } from '../../../src/archive/copies/sources.js';
import type { AgeIdentity } from '../../../src/archive/crypto/age-keys.js';
import { planFor } from '../../../src/archive/restore/planner.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-identity-choice-');
const pause = () => new Promise((res) => setTimeout(res, 30));

async function key(dir: string, name: string): Promise<{ file: string; recipient: string; identity: AgeIdentity }> {
  const secret = await generateIdentity();
  const file = path.join(dir, `${name}.txt`);
  await fsp.writeFile(file, `${secret}\n`, { mode: 0o600 });
  return { file, recipient: await identityToRecipient(secret), identity: { identities: [secret], passphrases: [], source: file } };
}

/** Archive 1 for k1 (A = one), archive 2 for k2 (A = two); `between`: after archive 1's last line, before its seal. */
async function twoRecipients(root: string) {
  const k1 = await key(root, 'k1');
  const k2 = await key(root, 'k2');
  const dataDir = path.join(root, 'data');
  const first = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, encryption: { recipients: [k1.recipient] } } } });
  await first.set('A', { v: 'one' });
  await pause();
  const between = Date.now();
  await pause();
  const one = await first.archive.create();
  await first.close();
  const second = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, encryption: { recipients: [k2.recipient], identityFile: k1.file } } } });
  await second.set('A', { v: 'two' });
  const two = await second.archive.create();
  await second.close();
  expect(two.manifest.timeRange.start.getTime()).toBeLessThanOrEqual(between);
  expect(between).toBeLessThanOrEqual(one.manifest.timeRange.sealedAt.getTime());
  return { dataDir, k1, k2, between, one: one.archiveId, two: two.archiveId };
}

async function planAt(dataDir: string, ts: number, identity: AgeIdentity | null) {
  const sources = new ArchiveSources([]);
  const listing = await listSources(path.join(dataDir, 'archives'), sources);
  return planFor({ archives: listing.archives, sources, order: sources.order, unreachable: listing.unreachable, identity: async () => identity }, { kind: 'timestamp', timestamp: ts });
}

describe('a moment two archives sealed for different recipients hold', () => {
  it('is planned from the archive the identity given opens (k1: the first, k2 or none: the newest)', async () => {
    const s = await twoRecipients(await tmp());
    expect((await planAt(s.dataDir, s.between, s.k1.identity)).archive?.manifest.archiveId).toBe(s.one);
    expect((await planAt(s.dataDir, s.between, s.k2.identity)).archive?.manifest.archiveId).toBe(s.two);
    expect((await planAt(s.dataDir, s.between, null)).archive?.manifest.archiveId).toBe(s.two);
  }, 120_000);

  it('is answered by time travel with k1 (show --at, the API read) from the archive k1 opens', async () => {
    const s = await twoRecipients(await tmp());
    const api = openRestore({ dataDir: s.dataDir, config: {} });
    try {
      expect((await api.read('A', { at: s.between, identity: s.k1.identity })).document).toBe('{"v":"one"}');
      expect((await api.read('A', { at: s.between, identity: s.k2.identity })).document).toBe('{"v":"one"}');
    } finally {
      await api.close();
    }
    const cli = await runCli(['archive', 'show', 'A', '--at', new Date(s.between).toISOString(), '-d', s.dataDir, '-i', s.k1.file], { BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: '' });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('one');
  }, 120_000);
});
