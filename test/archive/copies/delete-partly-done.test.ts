/**
 * `archive delete <id>` from every source, when the remote's delete fails after the local copy went: the
 * answer says what was deleted and what was not (text and --json), never only the remote's error as if
 * nothing had happened.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { startFaultProxy, s3ErrorBody, type FaultProxy } from '../../support/servers/fault-proxy.js';
import { useS3rver } from '../../support/servers/s3rver.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const server = useS3rver('bri-delete-partly');
const tmp = useTempDirs('bri-delete-partly-');
let proxy: FaultProxy;
beforeAll(async () => {
  // Every DELETE is refused; listing, reading and uploading pass.
  proxy = await startFaultProxy(server.s3().port, (r) => (r.method === 'DELETE' ? { kind: 'status', status: 403, body: s3ErrorBody('AccessDenied') } : { kind: 'pass' }));
});
afterAll(async () => {
  await proxy?.close();
});

/** One archive on local + s3 (its lines still in wal/: deleting every copy is allowed). */
async function onLocalAndS3(): Promise<{ args: string[]; id: string; local: string }> {
  const r = await tmp();
  const dataDir = path.join(r, 'data');
  const remote = { ...server.config(), endpoint: `http://127.0.0.1:${proxy.port}` };
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes: [remote], compression: { level: 1 } } } });
  let made;
  try {
    await db.set('A', { v: 1 });
    made = await db.archive.create();
  } finally {
    await db.close();
  }
  const config = path.join(r, 'cfg.json');
  await fsp.writeFile(config, JSON.stringify({ remotes: [remote] }));
  return { args: ['-d', dataDir, '-c', config], id: made.archiveId, local: made.file };
}

describe('archive delete from every source, the remote failing', () => {
  it('says the local copy was deleted and the s3 copy was not (text)', async () => {
    const s = await onLocalAndS3();
    const del = await runCli(['archive', 'delete', s.id, ...s.args]);
    expect(del.code, del.stderr).toBe(41);
    expect(fs.existsSync(s.local)).toBe(false);
    expect(del.stderr).toMatch(new RegExp(`archive ${s.id} was partly deleted: deleted local \\(`));
    expect(del.stderr).toMatch(/not deleted s3 \(/);
    expect(del.stderr).toMatch(new RegExp(`hint: .*bri archive delete ${s.id} --source s3`));
  }, 60_000);

  it('lists what was deleted and what was not under --json', async () => {
    const s = await onLocalAndS3();
    const del = await runCli(['archive', 'delete', s.id, '--json', ...s.args]);
    expect(del.code, del.stderr).toBe(41);
    const { error } = JSON.parse(del.stderr) as { error: { code: string; details: { deleted: Array<{ source: string }>; notDeleted: Array<{ source: string; code: string }> } } };
    expect(error.code).toBe('REMOTE_ERROR');
    expect(error.details.deleted.map((d) => d.source)).toEqual(['local']);
    expect(error.details.notDeleted.map((d) => d.source)).toEqual(['s3']);
  }, 60_000);
});
