/**
 * Deleting a remote copy removes its copy record first, then the object: a run that stops between the
 * two (a kill, a failed request) leaves an object the listing shows and a rerun deletes, never a record
 * of a copy that is gone (counted as a copy by WAL cleanup and the chain, and invisible to the listing).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { startFaultProxy, s3ErrorBody, type FaultProxy } from '../support/servers/fault-proxy.js';
import { useS3rver } from '../support/servers/s3rver.js';
import { useTempDirs } from '../support/temp-dirs.js';

const server = useS3rver('bri-delete-order');
const tmp = useTempDirs('bri-delete-order-');
let proxy: FaultProxy;
let failDeletes = false;
beforeAll(async () => {
  proxy = await startFaultProxy(server.s3().port, (r) => (failDeletes && r.method === 'DELETE' ? { kind: 'status', status: 500, body: s3ErrorBody('InternalError') } : { kind: 'pass' }));
});
afterAll(async () => {
  await proxy?.close();
});

describe('bri archive delete -s s3', () => {
  it('a delete that stops after the record is gone leaves the object listed, and the rerun deletes it', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const remote = { ...server.config(), endpoint: `http://127.0.0.1:${proxy.port}` };
    const db = await createDB({ storeConfig: { dataDir, archive: { remotes: [remote], compression: { level: 1 } } } });
    await db.set('A', { v: 1 });
    const made = await db.archive.create();
    await db.close();
    const config = path.join(r, 'cfg.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [remote] }));
    const record = path.join(dataDir, 'archives', '.copies', `${made.archiveId}.s3.json`);
    expect(fs.existsSync(record)).toBe(true);
    failDeletes = true;
    const failed = await runCli(['archive', 'delete', made.archiveId, '-s', 's3', '-d', dataDir, '-c', config]);
    failDeletes = false;
    expect(failed.code).not.toBe(0);
    expect(fs.existsSync(record)).toBe(false);
    const listed = JSON.parse((await runCli(['archive', 'list', '-d', dataDir, '-c', config, '--json'])).stdout) as { archives: Array<{ copies: Array<{ source: string }> }> };
    expect(listed.archives[0]!.copies.map((c) => c.source)).toEqual(['local', 's3']);
    const again = await runCli(['archive', 'delete', made.archiveId, '-s', 's3', '-d', dataDir, '-c', config]);
    expect(again.code, again.stderr).toBe(0);
    const after = JSON.parse((await runCli(['archive', 'list', '-d', dataDir, '-c', config, '--json'])).stdout) as { archives: Array<{ copies: Array<{ source: string }> }> };
    expect(after.archives[0]!.copies.map((c) => c.source)).toEqual(['local']);
  }, 60_000);
});
