import { describe, expect, it } from 'vitest';
import { parseArchiveConfig } from '../../src/archive/config.js';
import { ArchiveSources, archiveIdFromKey, archiveObjectKey, nameRemotes } from '../../src/archive/copies/sources.js';
import { createDB } from '../../src/db.js';
import type { RemoteConfig } from '../../src/remote/registry.js';
import { makeTempDir } from '../support/fixtures.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../support/cli.js';

const s3 = (extra: Record<string, unknown> = {}) => ({ provider: 's3', bucket: 'my-bucket', ...extra });

describe('archive configuration', () => {
  it('takes remote and remotes together, in order', () => {
    const c = parseArchiveConfig({ remote: s3(), remotes: [{ provider: 'local', path: '/mnt/nas' }, s3({ name: 'eu' })] });
    expect(c.remotes.map((r) => r.provider)).toEqual(['s3', 'local', 's3']);
  });

  it.each([
    [{ triggers: { schedule: 'every day at 3' } }, /^archive\.triggers\.schedule: is not a cron expression/],
    [{ triggers: { walSizeMB: -5 } }, /^archive\.triggers\.walSizeMB: /],
    [{ triggers: { walEntries: 1.5 } }, /^archive\.triggers\.walEntries: /],
    [{ triggers: { every: '1h' } }, /^archive\.triggers: unknown key\(s\) 'every'$/],
    [{ keepLocal: -1 }, /^archive\.keepLocal: /],
    [{ retentionDays: 0 }, /^archive\.retentionDays: /],
    [{ cleanupWal: 'yes' }, /^archive\.cleanupWal: /],
    [{ hooks: { afterArchive: 42 } }, /^archive\.hooks\.afterArchive: must be a function, \{ function, timeoutMs \}, a command line, an argv array/],
    [{ hooks: { afterArchive: { command: 'x', timeout: 5 } } }, /^archive\.hooks\.afterArchive: unknown key\(s\) 'timeout'$/],
    [{ restoreHooks: { afterArchive: 'x' } }, /^archive\.restoreHooks: unknown key\(s\) 'afterArchive'$/],
    [{ remotes: [s3({ bucket: undefined })] }, /^archive\.remotes\[0\]\.s3\.bucket: is required$/],
    [{ remote: { provider: 'ftp' } }, /^archive\.remote\.provider: must be one of/],
    [{ remotes: [s3(), s3({ secretKey: 'x' })] }, /^archive\.remotes\[1\]\.s3: unknown key\(s\) 'secretKey'$/],
    [{ compression: { level: 30 } }, /^archive\.compression\.level: /],
    [{ errorCorrection: { redundancy: -1 } }, /^archive\.errorCorrection\.redundancy: /],
    [{ restoreSources: ['Bad Name'] }, /^archive\.restoreSources\.0: /],
    [{ remotes: 's3' }, /^archive\.remotes: /],
    [{ trigers: {} }, /^archive\.\(root\): unknown key\(s\) 'trigers'$/],
  ])('refuses %j with an error naming the key', (input, message) => {
    expect(() => parseArchiveConfig(input)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) }));
  });

  it('never repeats a value in its errors (values may be secrets)', () => {
    const secret = 'AKIA-very-secret-value';
    try {
      parseArchiveConfig({ remotes: [s3({ credentials: { accessKeyId: secret } })] });
      expect.unreachable();
    } catch (err) {
      expect(JSON.stringify({ m: (err as Error).message, d: (err as { details: unknown }).details })).not.toContain(secret);
    }
  });

  it('names remotes by name, else by provider, numbered when taken; local is the archive directory', () => {
    const configs = [s3(), s3(), { provider: 'local', path: '/x' }, s3({ name: 'eu' })] as RemoteConfig[];
    expect(nameRemotes(configs)).toEqual(['s3', 's3-2', 'local-2', 'eu']);
    expect(() => nameRemotes([s3({ name: 'local' })] as RemoteConfig[])).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining("'local' is used twice") }));
    expect(() => nameRemotes([s3({ name: 'a' }), s3({ name: 'a' })] as RemoteConfig[])).toThrow(/used twice/);
  });

  it('orders restore sources as configured: names or providers, unknown ones refused', () => {
    const configs = parseArchiveConfig({ remotes: [s3(), { provider: 'azure', container: 'c-1', connectionString: 'UseDevelopmentStorage=true' }, s3({ name: 'eu' })] }).remotes;
    expect(new ArchiveSources(configs).order).toEqual(['local', 's3', 'azure', 'eu']);
    // A name first; a provider means every remote of it when no remote has that name.
    expect(new ArchiveSources(configs, ['azure', 's3', 'local']).order).toEqual(['azure', 's3', 'local']);
    const named = parseArchiveConfig({ remotes: [s3({ name: 'us' }), s3({ name: 'eu' })] }).remotes;
    expect(new ArchiveSources(named, ['s3', 'local']).order).toEqual(['us', 'eu', 'local']);
    expect(() => new ArchiveSources(configs, ['gcs'])).toThrow(expect.objectContaining({ code: 'REMOTE_NOT_FOUND', message: expect.stringContaining('restoreSources: no source "gcs"') }));
  });

  it('derives object keys from validated archive ids only', () => {
    expect(archiveObjectKey('20261201T101010123Z-0a0b0c0d')).toBe('archives/20261201T101010123Z-0a0b0c0d.bri');
    expect(() => archiveObjectKey('../../etc/passwd')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(archiveIdFromKey('archives/20261201T101010123Z-0a0b0c0d.bri')).toBe('20261201T101010123Z-0a0b0c0d');
    expect(archiveIdFromKey('archives/../x.bri')).toBeNull();
    expect(archiveIdFromKey('other/20261201T101010123Z-0a0b0c0d.bri')).toBeNull();
  });

  it('a bad archive config makes createDB fail before it touches the data directory', async () => {
    const dir = path.join(await makeTempDir('bri-config-'), 'data');
    await expect(createDB({ storeConfig: { dataDir: dir, archive: { remotes: [{ provider: 's3' }] } } })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('createDB called without storeConfig.dataDir is CONFIG_INVALID with a hint, not a TypeError', async () => {
    for (const bad of [undefined, null, {}, { dataDir: './data' }, { storeConfig: null }, { storeConfig: {} }, { storeConfig: { dataDir: 7 } }, { storeConfig: { dataDir: '' } }]) {
      const err = await createDB(bad as unknown as Parameters<typeof createDB>[0]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(bad)).toMatchObject({ code: 'CONFIG_INVALID', hint: expect.stringContaining('storeConfig') as unknown });
    }
  });

  it('a bad cron expression makes createDB fail before anything starts', async () => {
    const dir = path.join(await makeTempDir('bri-config-'), 'data');
    await expect(createDB({ storeConfig: { dataDir: dir, archive: { triggers: { schedule: '61 * * * *' } } } })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('archive.triggers.schedule'),
    });
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('bri --config with a bad key exits 2 naming it, and changes nothing', async () => {
    const root = await makeTempDir('bri-config-');
    const dir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir: dir, snapshotOnClose: false } });
    await db.set('A', { a: 1 });
    await db.close();
    const cfg = path.join(root, 'bad.json');
    fs.writeFileSync(cfg, JSON.stringify({ triggers: { walEntries: -3 }, remotes: [{ provider: 's3', bucket: 'b-1', credentials: { accessKeyId: 'AKIAXXXX', secretAccessKey: 'TOPSECRET' } }] }));
    const r = await runCli(['archive', 'create', '-d', dir, '--config', cfg]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('archive.triggers.walEntries');
    expect(r.stderr).not.toContain('TOPSECRET');
    expect(fs.existsSync(path.join(dir, 'archives'))).toBe(false);
    fs.writeFileSync(cfg, '{ "remotes": [ { "provider": "s3", "secretAccessKey": "TOPSECRET" ');
    const broken = await runCli(['archive', 'list', '-d', dir, '--config', cfg]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('is not valid JSON');
    expect(broken.stderr).not.toContain('TOPSECRET');
  });
});
