/**
 * An object named like an archive that cannot be read (junk, an upload cut short) makes a restore
 * refuse and say "repair it or bring a good copy back"; every command taking its id must then reach
 * it, not answer "no archive": verify says what is wrong with it, repair tries and says what is left,
 * download writes it as stored with --no-verify, and delete removes it with --force. Each hint names
 * a command that works on it. S3 on s3rver, and a junk file in the archive directory.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { S3RVER_CREDENTIALS, useS3rver } from '../../support/servers/s3rver.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const BUCKET = 'bri-unreadable-id';
const server = useS3rver(BUCKET);
const tmp = useTempDirs('bri-unreadable-id-');
const JUNK = '20301231T000000000Z-0000abcd';

/** A data directory with one archive made (local and on s3), and the config file naming the remote. */
async function setup(): Promise<{ dataDir: string; cfg: string; root: string; prefix: string }> {
  const root = await tmp();
  const dataDir = path.join(root, 'data');
  const remote = server.config();
  const cfg = path.join(root, 'cfg.json');
  await fsp.writeFile(cfg, JSON.stringify({ remotes: [remote] }));
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
  for (let i = 0; i < 5; i++) await db.set(`k${i}`, { i });
  await db.close();
  const made = await runCli(['archive', 'create', '-d', dataDir, '-c', cfg, '--quiet']);
  expect(made.code, made.stderr).toBe(0);
  return { dataDir, cfg, root, prefix: (remote as { prefix: string }).prefix };
}

async function putJunk(prefix: string): Promise<void> {
  const client = new S3Client({ endpoint: server.s3().endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS } });
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/archives/${JUNK}.bri`, Body: Buffer.from('junk\n') }));
  client.destroy();
}

/** The commands named in a hint (`bri archive ...`), with the placeholders a user fills in filled. */
function hintedCommands(stderr: string, file: string): string[][] {
  return [...stderr.matchAll(/`bri (archive [^`]+)`/g)].map((m) => m[1]!.replace('<file>', file).split(' '));
}

describe('a copy named like an archive that cannot be read is reached by its id', () => {
  it('on a remote: verify -s says FAILED with the reason, repair tries and names what works, download takes it with --no-verify, delete removes it with --force', async () => {
    const { dataDir, cfg, root, prefix } = await setup();
    await putJunk(prefix);
    const at = ['-d', dataDir, '-c', cfg];
    const restore = await runCli(['restore', 'latest', ...at, '--target', path.join(root, 'restored')]);
    expect(restore.code).toBe(21);

    const verify = await runCli(['archive', 'verify', JUNK, '-s', 's3', ...at]);
    expect(verify.code, verify.stderr).toBe(21);
    expect(verify.stderr).toMatch(new RegExp(`FAILED s3://${BUCKET}/${prefix}/archives/${JUNK}\\.bri \\[ARCHIVE_CORRUPTED\\]`));
    expect(verify.stderr).toContain('is not a readable tar archive');
    expect(verify.stderr).not.toContain('.bri-scratch');

    const repair = await runCli(['archive', 'repair', JUNK, ...at]);
    expect(repair.code).toBe(21);
    expect(repair.stderr).toMatch(/repairing it failed/);
    expect(repair.stderr).not.toContain('.bri-scratch');
    expect(repair.stderr).toContain(`bri archive delete ${JUNK} --source s3 --force`);

    const download = await runCli(['archive', 'download', JUNK, path.join(root, 'x.bri'), '-s', 's3', ...at]);
    expect(download.code).toBe(21);
    expect(download.stderr).toContain('--no-verify');

    for (const args of [['archive', 'delete', JUNK, '-s', 's3'], ['archive', 'delete', JUNK]]) {
      const refused = await runCli([...args, ...at]);
      expect(refused.code, refused.stderr).toBe(2);
      expect(refused.stderr).toMatch(/cannot be read.*not deleted without --force/);
    }
    // Every command the hints name works: the download writes the bytes as stored, the delete removes the object.
    const named = hintedCommands(download.stderr, path.join(root, 'kept.bri'));
    expect(named.map((c) => c.slice(0, 2).join(' '))).toEqual(['archive download', 'archive delete']);
    for (const c of named) {
      const r = await runCli([...c, ...at]);
      expect(r.code, `${c.join(' ')}: ${r.stderr}`).toBe(0);
    }
    expect(await fsp.readFile(path.join(root, 'kept.bri'), 'utf8')).toBe('junk\n');
    const list = await runCli(['archive', 'list', ...at, '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).not.toContain(JUNK);
    const again = await runCli(['restore', 'latest', ...at, '--target', path.join(root, 'restored')]);
    expect(again.code, again.stderr).toBe(0);
  }, 120_000);

  it('in the archive directory: delete -s local takes --force, and download --no-verify copies it', async () => {
    const { dataDir, cfg, root } = await setup();
    const junk = path.join(dataDir, 'archives', `${JUNK}.bri`);
    await fsp.writeFile(junk, 'junk\n');
    const at = ['-d', dataDir, '-c', cfg];
    const refused = await runCli(['archive', 'delete', JUNK, '-s', 'local', ...at]);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`bri archive delete ${JUNK} --source local --force`);
    const copied = await runCli(['archive', 'download', JUNK, path.join(root, 'x.bri'), '-s', 'local', '--no-verify', ...at]);
    expect(copied.code, copied.stderr).toBe(0);
    expect(await fsp.readFile(path.join(root, 'x.bri'), 'utf8')).toBe('junk\n');
    const deleted = await runCli(['archive', 'delete', JUNK, '-s', 'local', '--force', ...at]);
    expect(deleted.code, deleted.stderr).toBe(0);
    await expect(fsp.access(junk)).rejects.toThrow();
  }, 120_000);
});
