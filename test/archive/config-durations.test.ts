/**
 * Every duration of the configuration is at most what a Node timer holds (2^31-1 ms, about 24.8
 * days): a longer one fires after 1 ms instead, so "practically never" became "at once" (a hook
 * killed as it starts, a ship loop every millisecond). Refused at load, naming the key and the max.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArchiveConfig } from '../../src/archive/config.js';
import { createDB } from '../../src/db.js';
import { BriError, ErrorCodes } from '../../src/errors.js';
import type { RemoteStore } from '../../src/remote/remote.js';
import { withRetry } from '../../src/remote/retry.js';
import { runCli } from '../support/cli.js';
import { makeTempDir } from '../support/fixtures.js';

const TOO_LONG = 3_000_000_000;
const MAX = /must be at most 2147483647 ms/;

describe('durations in the archive configuration', () => {
  it.each([
    ['hooks.beforeArchive.timeoutMs', { hooks: { beforeArchive: { command: 'true', timeoutMs: TOO_LONG } } }],
    ['restoreHooks.afterRestore.timeoutMs', { restoreHooks: { afterRestore: { command: 'true', timeoutMs: TOO_LONG } } }],
    ['continuous.intervalMs', { continuous: { enabled: true, intervalMs: 30 * 86_400_000 }, remote: { provider: 'local', path: '/mnt/nas' } }],
    ['remote.gcs.downloadIdleTimeoutMs', { remote: { provider: 'gcs', bucket: 'bri-test', downloadIdleTimeoutMs: TOO_LONG } }],
    ['remote.local.retry.baseDelayMs', { remote: { provider: 'local', path: '/mnt/nas', retry: { baseDelayMs: TOO_LONG } } }],
    ['remotes[0].s3.retry.maxDelayMs', { remotes: [{ provider: 's3', bucket: 'my-bucket', retry: { maxDelayMs: TOO_LONG } }] }],
    ['remote.azure.timeouts.connectMs', { remote: { provider: 'azure', container: 'bri', connectionString: 'x', timeouts: { connectMs: TOO_LONG } } }],
  ])('%s above 2^31-1 ms is CONFIG_INVALID naming the key and the max', (key, input) => {
    expect(() => parseArchiveConfig(input)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(new RegExp(`^archive\\.${key.replace(/[.[\]]/g, '\\$&')}: ${MAX.source}`)) }));
  });

  it('takes the longest a timer holds', () => {
    const c = parseArchiveConfig({ hooks: { onError: { command: 'true', timeoutMs: 2 ** 31 - 1 } }, remote: { provider: 'local', path: '/mnt/nas', retry: { maxDelayMs: 2 ** 31 - 1 } }, continuous: { intervalMs: 2 ** 31 - 1 } });
    expect(c.continuous.intervalMs).toBe(2 ** 31 - 1);
  });

  it('createDB with continuous.intervalMs of 30 days fails before it touches the data directory', async () => {
    const dir = path.join(await makeTempDir('bri-durations-'), 'data');
    const nas = await makeTempDir('bri-durations-nas-');
    await expect(createDB({ storeConfig: { dataDir: dir, archive: { remote: { provider: 'local', name: 'nas', path: nas }, continuous: { enabled: true, intervalMs: 30 * 86_400_000 } } } })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/^archive\.continuous\.intervalMs: must be at most 2147483647 ms/) as unknown,
    });
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('bri archive create with a hook timeoutMs of 3e9 exits 2 naming the key, and runs no hook (was: the hook killed at once, no archive ever made)', async () => {
    const root = await makeTempDir('bri-durations-');
    const dir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir: dir } });
    await db.set('A', { a: 1 });
    await db.close();
    const cfg = path.join(root, 'c.json');
    fs.writeFileSync(cfg, JSON.stringify({ hooks: { beforeArchive: { command: 'touch ran', timeoutMs: TOO_LONG } } }));
    const r = await runCli(['archive', 'create', '-d', dir, '--config', cfg]);
    expect(r.stderr).toMatch(/archive\.hooks\.beforeArchive\.timeoutMs: must be at most 2147483647 ms/);
    expect(r.stderr).not.toMatch(/TimeoutOverflow/);
    expect(r.code).toBe(2);
    expect(fs.existsSync(path.join(root, 'ran'))).toBe(false);
  });

  it('a retry delay given through the API above the timer max waits the max, not 1 ms', async () => {
    const controller = new AbortController();
    const delays: number[] = [];
    let calls = 0;
    const failing = {
      provider: 'local',
      head: async () => {
        calls++;
        throw new BriError(ErrorCodes.REMOTE_ERROR, 'fake: 503', { details: { retryable: true } });
      },
    } as unknown as RemoteStore;
    const store = withRetry(failing, { baseDelayMs: TOO_LONG, maxDelayMs: TOO_LONG, random: () => 0.999, onRetry: (r) => delays.push(r.delayMs) });
    const call = store.head('k', { signal: controller.signal }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort();
    expect(await call).toMatchObject({ code: 'CANCELLED' });
    expect(calls).toBe(1);
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeLessThanOrEqual(2 ** 31 - 1);
  });
});
