/**
 * A --config file is validated like createDB's archive block: what createDB refuses, the file
 * refuses too, with the same CONFIG_INVALID (exit 2) naming the key; and the file holds what the
 * README says it holds (the archive block, or { "archive": {...} }).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { makeTempDir } from '../support/fixtures.js';

/** A stopped database with one document, and a config file `c.json` beside it holding `config`. */
async function withConfig(config: unknown): Promise<{ root: string; dir: string; cfg: string }> {
  const root = await makeTempDir('bri-config-file-');
  const dir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir: dir } });
  await db.set('A', { a: 1 });
  await db.close();
  const cfg = path.join(root, 'etc', 'c.json');
  fs.mkdirSync(path.dirname(cfg));
  fs.writeFileSync(cfg, JSON.stringify(config));
  return { root, dir, cfg };
}

describe('a --config file is checked like createDB', () => {
  it.each([
    ['an empty localDir', { localDir: '' }, 'archive.localDir'],
    ['an empty local remote path', { remote: { provider: 'local', path: '' } }, 'archive.remote.local.path'],
    ['an empty hook cwd', { hooks: { afterArchive: { command: 'true', cwd: '' } } }, 'archive.hooks.afterArchive.cwd'],
  ])('%s is CONFIG_INVALID naming the key, and nothing is written (was: the file\'s directory)', async (_what, config, key) => {
    const { root, dir, cfg } = await withConfig(config);
    const r = await runCli(['archive', 'create', '-d', dir, '--config', cfg, '-q']);
    expect(r.stderr).toContain(key);
    expect(r.code).toBe(2);
    expect(fs.readdirSync(path.join(root, 'etc'))).toEqual(['c.json']);
    expect(fs.existsSync(path.join(dir, 'archives'))).toBe(false);
  });
});

describe('restoreSources', () => {
  it('a name no configured source has is CONFIG_INVALID (exit 2) naming archive.restoreSources[i] and the sources (was: REMOTE_NOT_FOUND, exit 40)', async () => {
    const { dir, cfg, root } = await withConfig({ remote: { provider: 'local', name: 'nas', path: '../nas' }, restoreSources: ['local', 'nsa'] });
    fs.mkdirSync(path.join(root, 'nas'));
    const r = await runCli(['archive', 'list', '-d', dir, '--config', cfg]);
    expect(r.stderr).toMatch(/archive\.restoreSources\[1\]: names no configured source: the sources are local, nas/);
    expect(r.code).toBe(2);
  });

  it('local, a remote name and a provider name are taken; so is the API', async () => {
    const { parseArchiveConfig } = await import('../../src/archive/config.js');
    const c = parseArchiveConfig({ remotes: [{ provider: 'local', name: 'nas', path: '/mnt/nas' }, { provider: 's3', bucket: 'my-bucket' }], restoreSources: ['s3', 'nas', 'local'] });
    expect(c.restoreSources).toEqual(['s3', 'nas', 'local']);
    expect(() => parseArchiveConfig({ restoreSources: ['nas'] })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', details: { key: 'restoreSources[0]' } }));
  });
});

describe('the { "archive": {...} } form the README documents', () => {
  it('is taken alone; a key beside it is refused by its name, never the documented archive key (was: "unknown key(s) \'archive\'")', async () => {
    const { dir, cfg } = await withConfig({ archive: { keepLocal: 1 } });
    const ok = await runCli(['archive', 'list', '-d', dir, '--config', cfg]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    fs.writeFileSync(cfg, JSON.stringify({ archive: { keepLocal: 1 }, dataDir: 'data' }));
    const beside = await runCli(['archive', 'list', '-d', dir, '--config', cfg]);
    expect(beside.stderr).toMatch(/unknown key\(s\) 'dataDir' beside 'archive'/);
    expect(beside.stderr).not.toMatch(/unknown key\(s\) 'archive'/);
    expect(beside.code).toBe(2);
    fs.writeFileSync(cfg, JSON.stringify({ archive: { keepLocal: -1 } }));
    const inner = await runCli(['archive', 'list', '-d', dir, '--config', cfg]);
    expect(inner.stderr).toContain('archive.keepLocal');
    expect(inner.code).toBe(2);
  });
});

describe('retentionDays', () => {
  it('is whole days, at least 1, like --retention and a remote\'s retentionDays (was: 5e-324 taken)', async () => {
    const { parseArchiveConfig } = await import('../../src/archive/config.js');
    for (const bad of [5e-324, 0.00001, 0.5, 1.5]) {
      expect(() => parseArchiveConfig({ retentionDays: bad }), String(bad)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: 'archive.retentionDays: must be a whole number of days, at least 1' }));
    }
    expect(parseArchiveConfig({ retentionDays: 1 }).retentionDays).toBe(1);
    const dir = path.join(await makeTempDir('bri-config-file-'), 'data');
    await expect(createDB({ storeConfig: { dataDir: dir, archive: { retentionDays: 5e-324 } } })).rejects.toMatchObject({ code: 'CONFIG_INVALID', details: { key: 'retentionDays' } });
    expect(fs.existsSync(dir)).toBe(false);
  });
});

describe('keepLocal with restoreSources', () => {
  it('restoreSources leaving out a remote while keepLocal removes local copies is CONFIG_INVALID naming the remote, before anything is written (was: TIMESTAMP_NOT_FOUND / "no source holds it" for archives nas holds)', async () => {
    const { root, dir, cfg } = await withConfig({ keepLocal: 1, restoreSources: ['local'], remote: { provider: 'local', name: 'nas', path: '../nas' } });
    fs.mkdirSync(path.join(root, 'nas'));
    const r = await runCli(['archive', 'create', '-d', dir, '--config', cfg, '-q']);
    expect(r.stderr).toMatch(/archive\.restoreSources: leaves out nas, while keepLocal removes local copies.*Add nas to restoreSources, or remove keepLocal/);
    expect(r.code).toBe(2);
    expect(fs.readdirSync(path.join(root, 'nas'))).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'archives'))).toBe(false);
  });

  it('is taken when restoreSources reads every remote (by name or provider), or without keepLocal', async () => {
    const { parseArchiveConfig } = await import('../../src/archive/config.js');
    const remotes = [{ provider: 'local', name: 'nas', path: '/mnt/nas' }, { provider: 's3', bucket: 'my-bucket' }, { provider: 's3', name: 'eu', bucket: 'my-bucket' }];
    expect(parseArchiveConfig({ keepLocal: 0, remotes, restoreSources: ['s3', 'eu', 'nas'] }).restoreSources).toEqual(['s3', 'eu', 'nas']);
    // A provider name means every remote of it only when no remote has that name (ArchiveSources.select): here 's3' is the first one.
    expect(() => parseArchiveConfig({ keepLocal: 0, remotes, restoreSources: ['s3', 'nas'] })).toThrow(expect.objectContaining({ message: expect.stringMatching(/^archive\.restoreSources: leaves out eu,/) }));
    expect(parseArchiveConfig({ keepLocal: 0, remotes: [{ provider: 's3', name: 'us', bucket: 'my-bucket' }, { provider: 's3', name: 'eu', bucket: 'my-bucket' }], restoreSources: ['s3'] }).restoreSources).toEqual(['s3']);
    expect(parseArchiveConfig({ remotes, restoreSources: ['local'] }).restoreSources).toEqual(['local']);
    expect(() => parseArchiveConfig({ keepLocal: 2, remotes, restoreSources: ['local', 'eu', 'nas'] })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/^archive\.restoreSources: leaves out s3,/) }));
  });
});
