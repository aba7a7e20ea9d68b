/**
 * Under Node 20 (supported here) the AWS SDK prints an eight-line NodeVersionSupportWarning once
 * per process. Neither a `bri` command with S3 configured nor an API user sees it; other
 * warnings still show, and the environment is left as it was.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Remote } from '../../src/remote/s3/s3.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverServer } from '../support/servers/s3rver.js';

const OPT_OUT = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
const SDK_WARNING = /NodeVersionSupportWarning|AWS SDK for JavaScript|will require node/;

let server: S3rverServer;
const tempDir = useTempDirs('bri-s3-warning-');

beforeAll(async () => {
  server = await startS3rver(['bri-test']);
});

afterAll(async () => {
  await server?.dispose();
});

describe('the AWS SDK Node version warning', () => {
  it('bri commands with an S3 remote configured print no SDK warning on stderr', async () => {
    const dir = await tempDir();
    const config = path.join(dir, 'config.json');
    const remote = { provider: 's3', bucket: 'bri-test', prefix: `warn-${randomBytes(3).toString('hex')}`, endpoint: server.endpoint, region: 'us-east-1', credentials: { ...S3RVER_CREDENTIALS } };
    await fsp.writeFile(config, JSON.stringify({ remotes: [remote] }));
    for (const args of [
      ['archive', 'list', '-d', path.join(dir, 'data'), '--config', config],
      ['restore', 'list', '-d', path.join(dir, 'data'), '--config', config, '--json'],
    ]) {
      // The user did not opt out (an undefined value is left out of the child's environment).
      const r = await runCli(args, { [OPT_OUT]: undefined });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(SDK_WARNING);
      expect(r.stderr).not.toMatch(/\(node:\d+\) Warning/);
    }
  });

  it('an API user sees no SDK warning either, still sees other warnings, and keeps their environment', async () => {
    const seen: string[] = [];
    const onWarning = (w: Error) => seen.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const before = process.env[OPT_OUT];
      const store = createS3Remote({ bucket: 'bri-test', prefix: `api-${randomBytes(3).toString('hex')}/`, endpoint: server.endpoint, region: 'us-east-1', credentials: { ...S3RVER_CREDENTIALS } });
      for await (const _ of store.list('')) void _;
      await store.close();
      process.emitWarning('a warning of the application', 'AppWarning');
      await new Promise((r) => setTimeout(r, 50));
      expect(seen.filter((w) => SDK_WARNING.test(w))).toEqual([]);
      expect(seen).toContain('AppWarning: a warning of the application');
      expect(process.env[OPT_OUT]).toBe(before);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
