/**
 * Disaster recovery with the only remote unreadable (a bucket name mistyped, the server down) and
 * no local archives: `bri restore latest` answers with the remote's error (its code: exit 40/41)
 * naming it, not "there are no archives to restore from; create one".
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { useS3rver } from '../support/servers/s3rver.js';

const server = useS3rver('bri-dr');
const tempDir = useTempDirs('bri-dr-');

describe('a restore whose only remote cannot be read', () => {
  it('restore latest with the bucket mistyped or the server down: the remote\'s error and exit code, not ARCHIVE_NOT_FOUND', async () => {
    const root = await tempDir();
    const cases = [
      { name: 'typo', remote: { ...server.config(), bucket: 'bri-dr-typo' }, code: 'REMOTE_NOT_FOUND', exit: 40 },
      { name: 'down', remote: { ...server.config(), endpoint: 'http://127.0.0.1:1' }, code: 'REMOTE_ERROR', exit: 41 },
    ];
    for (const c of cases) {
      const config = path.join(root, `${c.name}.json`);
      await fsp.writeFile(config, JSON.stringify({ remotes: [c.remote] }));
      const r = await runCli(['restore', 'latest', '-d', path.join(root, `new-${c.name}`), '-c', config]);
      expect(r.stderr, c.name).toContain(`[${c.code}]`);
      expect(r.stderr).toContain('s3 could not be read');
      expect(r.stderr).not.toContain('bri archive create');
      expect(r.code, r.stderr).toBe(c.exit);
    }
  }, 60_000);

  it('listings, stats, get, verify and download with the only remote down: its error and exit code (41), not "no archives" (exit 0) nor ARCHIVE_NOT_FOUND', async () => {
    const root = await tempDir();
    const config = path.join(root, 'down.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [{ ...server.config(), endpoint: 'http://127.0.0.1:1' }] }));
    const dataDir = path.join(root, 'new');
    const id = '20261201T000000000Z-0000abcd';
    for (const args of [['archive', 'list'], ['restore', 'list'], ['archive', 'stats'], ['archive', 'get', id, '-s', 's3'], ['archive', 'verify', id, '-s', 's3'], ['archive', 'download', id, path.join(root, 'x.bri'), '-s', 's3'], ['restore', 'from', id]]) {
      const r = await runCli([...args, '-d', dataDir, '-c', config]);
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(41);
      expect(r.stderr, args.join(' ')).toMatch(/s3/);
      expect(r.stderr, args.join(' ')).not.toContain('ARCHIVE_NOT_FOUND');
    }
  }, 60_000);
});
