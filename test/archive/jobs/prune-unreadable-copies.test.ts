/**
 * Expired copies whose own manifest cannot be read (RETAIN2 2): a nas copy with a damaged, PAR2-repairable manifest
 * was never pruned (not whole, so never planned), and an Azure blob moved to the Archive tier after keepLocal took
 * its local copy was never pruned nor mentioned. The first goes when it expires; the second is reported, kept.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import type { RemoteConfig } from '../../../src/remote/registry.js';
import { runCli } from '../../support/cli.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type AzuriteServer } from '../../support/servers/azurite.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-prune-unreadable-');
const DAY_MS = 86_400_000;

/** Three archives, each uploaded to `remotes`; keepLocal 1 leaves the first two only there. */
async function threeArchives(dataDir: string, archive: { remotes: RemoteConfig[]; keepLocal: number; retentionDays: number }): Promise<string[]> {
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive } });
  const ids: string[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      await db.set('K', { i });
      ids.push((await db.archive.create()).archiveId);
    }
  } finally {
    await db.close();
  }
  return ids;
}

async function pruneLater(dataDir: string, archive: object, days: number) {
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive } });
  try {
    return await db.archive.prune({ now: new Date(Date.now() + days * DAY_MS) });
  } finally {
    await db.close();
  }
}

describe('prune and copies whose manifest cannot be read', () => {
  it('removes an expired nas copy whose damaged manifest PAR2 repairs', async () => {
    const root = await tmp();
    const nas = path.join(root, 'nas');
    await fsp.mkdir(nas);
    const archive = { remotes: [{ provider: 'local', name: 'nas', path: nas } as RemoteConfig], keepLocal: 1, retentionDays: 1 };
    const ids = await threeArchives(path.join(root, 'data'), archive);
    const file = path.join(nas, 'archives', `${ids[0]}.bri`);
    const buf = fs.readFileSync(file);
    const at = buf.indexOf(Buffer.from('"archiveId"'));
    buf[at + 3]! ^= 0x20;
    fs.writeFileSync(file, buf);
    const r = await pruneLater(path.join(root, 'data'), archive, 3);
    expect(r.removed).toContainEqual(expect.objectContaining({ archiveId: ids[0], source: 'nas', reason: 'expired' }));
    expect(fs.existsSync(file)).toBe(false);
    expect(r.unreadable).toEqual([]);
  }, 60_000);

  describe('on Azure', () => {
    let server: AzuriteServer;
    beforeAll(async () => {
      server = await startAzurite();
    }, 90_000);
    afterAll(async () => {
      await server?.dispose();
    });

    it('reports, and keeps, a blob in the Archive tier that no other copy says the expiry of (API and CLI text)', async () => {
      const root = await tmp();
      const { BlobServiceClient } = await import('@azure/storage-blob');
      const container = BlobServiceClient.fromConnectionString(server.connectionString).getContainerClient('bri-prune-cold');
      await container.createIfNotExists();
      const azure = { provider: 'azure', name: 'azure', container: 'bri-prune-cold', prefix: 'p', accountName: AZURITE_ACCOUNT, accountKey: AZURITE_KEY, endpoint: server.blobEndpoint } as RemoteConfig;
      const archive = { remotes: [azure], keepLocal: 1, retentionDays: 1 };
      const dataDir = path.join(root, 'data');
      const ids = await threeArchives(dataDir, archive);
      expect(fs.existsSync(path.join(dataDir, 'archives', `${ids[0]}.bri`))).toBe(false);
      await container.getBlobClient(`p/archives/${ids[0]}.bri`).setAccessTier('Archive');
      const r = await pruneLater(dataDir, archive, 3);
      expect(r.unreadable).toEqual([expect.objectContaining({ source: 'azure', archiveId: ids[0], reason: 'frozen' })]);
      expect(r.removed).not.toContainEqual(expect.objectContaining({ archiveId: ids[0] }));
      const cfg = path.join(root, 'cfg.json');
      await fsp.writeFile(cfg, JSON.stringify(archive));
      const cli = await runCli(['archive', 'prune', '-d', dataDir, '-c', cfg]);
      expect(cli.stdout).toContain(`kept azure: ${ids[0]} (in an archive tier, its manifest cannot be read and no other copy says when it expires: \`bri archive thaw\` it, then prune again)`);
      const json = JSON.parse((await runCli(['archive', 'prune', '-d', dataDir, '-c', cfg, '--json'])).stdout);
      expect(json.unreadable).toEqual([expect.objectContaining({ source: 'azure', archiveId: ids[0], reason: 'frozen' })]);
    }, 120_000);
  });
});
