/**
 * A clone made from production's archive and archived beside it (same remote, its own archive directory)
 * while production went on writing past the line the clone began at is a fork, not production's
 * successor: a disaster-recovery restore with no instance named refuses with USAGE naming both, never
 * restores the clone with exit 0 (production's later lines lost).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import type { RemoteConfig } from '../../../src/remote/registry.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-clone-fork-');
const pause = () => new Promise((res) => setTimeout(res, 15));

async function write(dataDir: string, remote: RemoteConfig, keys: string[], archive: boolean): Promise<string> {
  const db = await createDB({ storeConfig: { dataDir, archive: { remotes: [remote], compression: { level: 1 } } } });
  try {
    for (const k of keys) await db.set(k, { k });
    if (archive) await db.archive.create();
  } finally {
    await db.close();
  }
  await pause();
  return (await readArchiveState(dataDir))?.instanceId ?? '';
}

async function setup() {
  const root = await tmp();
  const remote: RemoteConfig = { provider: 'local', name: 'nas', path: path.join(root, 'nas') };
  await fsp.mkdir(remote.path);
  const config = path.join(root, 'cfg.json');
  await fsp.writeFile(config, JSON.stringify({ remotes: [remote] }));
  const prod = path.join(root, 'prod');
  await write(prod, remote, ['P1', 'P2'], true);
  const prodId = await write(prod, remote, ['P3', 'P4'], true);
  const audit = path.join(root, 'audit');
  const cloner = openRestore({ dataDir: prod, config: { remotes: [remote] } });
  await cloner.clone({ targetDir: audit });
  await cloner.close();
  await pause();
  return { root, remote, config, prod, prodId, audit };
}

describe('a clone archived beside an origin that wrote past the clone\'s start', () => {
  it('refuses a disaster-recovery restore latest (USAGE, both instances named) when the idle clone archived after production\'s last archive', async () => {
    const { remote, config, prod, prodId, audit } = await setup();
    await write(prod, remote, ['P5', 'P6'], true);
    const auditId = await write(audit, remote, [], true);
    expect(auditId).not.toBe(prodId);
    await fsp.rm(prod, { recursive: true });
    const cli = await runCli(['restore', 'latest', '-d', prod, '-c', config]);
    expect(cli.stderr).toContain('[USAGE]');
    expect(cli.stderr).toContain(prodId);
    expect(cli.stderr).toContain(auditId);
    expect(cli.code, cli.stderr).toBe(2);
    expect(fs.existsSync(prod)).toBe(false);
    const named = await runCli(['restore', 'latest', '-d', prod, '-c', config, '--instance', prodId]);
    expect(named.code, named.stderr).toBe(0);
  }, 120_000);

  it('refuses when the clone wrote while production was still writing, production archiving first', async () => {
    const { remote, prod, audit } = await setup();
    await write(prod, remote, ['P5'], false);
    await write(audit, remote, ['A1'], false);
    await write(prod, remote, ['P6'], true);
    await write(audit, remote, ['A2'], true);
    const lost = path.join(path.dirname(prod), 'lost');
    const api = openRestore({ dataDir: lost, config: { remotes: [remote] } });
    try {
      await expect(api.fromLatest()).rejects.toMatchObject({ code: 'USAGE' });
      expect(fs.existsSync(lost)).toBe(false);
    } finally {
      await api.close();
    }
  }, 120_000);

});
