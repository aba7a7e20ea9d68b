/**
 * A time past the last line of the instance the user named (--instance): the hint offers
 * `restore latest` with that --instance, never bare (which may pick another instance, or refuse).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import type { RemoteConfig } from '../../../src/remote/registry.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-hint-instance-');

describe('TIMESTAMP_NOT_FOUND past the named instance\'s end', () => {
  it('keeps --instance in the hint for a time past the named instance\'s last line', async () => {
    const root = await tmp();
    const remote: RemoteConfig = { provider: 'local', name: 'nas', path: path.join(root, 'nas') };
    await fsp.mkdir(remote.path);
    const config = path.join(root, 'cfg.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [remote] }));
    const prod = path.join(root, 'prod');
    const db = await createDB({ storeConfig: { dataDir: prod, archive: { remotes: [remote], compression: { level: 1 } } } });
    await db.set('P1', {});
    await db.archive.create();
    await db.close();
    const prodId = (await readArchiveState(prod))!.instanceId;
    await new Promise((res) => setTimeout(res, 20));
    const fresh = path.join(root, 'fresh');
    const cli = await runCli(['restore', 'to-timestamp', String(Date.now() - 5), '-d', fresh, '-c', config, '--instance', prodId]);
    expect(cli.stderr).toContain('[TIMESTAMP_NOT_FOUND]');
    expect(cli.stderr).toContain(`bri restore latest --instance ${prodId}`);
  }, 120_000);
});
