/**
 * Each failure of a rekey said "that copy still opens with the old identity only", also when the failure came
 * after the local copy was rewritten (its upload to a remote failed): the local copy then opens with the new
 * recipients only. Each failure now says what is true of it.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { ageKeyFile, NO_AGE_ENV } from '../../support/age-keys.js';

const tmp = useTempDirs('bri-rekey-state-');
const IO_FAULTS = path.resolve('test/support/io-faults.ts');

describe('archive rekey failures', () => {
  it('an upload that fails after the local copy was rewrapped says the local copy opens with the new recipients only, the remote one with the old identity only', async () => {
    const r = await tmp();
    const [k1, k2] = [await ageKeyFile(r, 'k1'), await ageKeyFile(r, 'k2')];
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const archive = { remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], compression: { level: 1 }, encryption: { recipients: [k1.recipient] } };
    const cfg = path.join(r, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ archive }));
    const dataDir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir, archive } });
    await db.set('A', { v: 1 });
    const id = (await db.archive.create()).manifest.archiveId;
    await db.close();
    // The remote lists its copy but takes no upload: every rename under it fails.
    const fault = JSON.stringify({ code: 'EIO', op: 'rename', under: nas, after: 0 });
    const res = await runCli(['archive', 'rekey', '-d', dataDir, '-c', cfg, '--recipient', k2.recipient, '-i', k1.file, '--json'], { ...NO_AGE_ENV, BRI_IO_FAULT: fault }, { preload: IO_FAULTS });
    const out = JSON.parse(res.stdout) as { archives: Array<{ archiveId: string; sources: string[] }>; failures: Array<{ archiveId: string | null; source: string; state: string }> };
    const failure = out.failures.find((f) => f.archiveId === id);
    expect(failure, res.stdout + res.stderr).toBeDefined();
    expect(failure!.state).toMatch(/local copy opens with the new recipients only/);
    expect(failure!.state).not.toMatch(/^that copy still opens/);
    // What it says is what is true: the local copy opens with k2.
    const v = await runCli(['archive', 'verify', id, '-d', dataDir, '-s', 'local', '--deep', '-i', k2.file], NO_AGE_ENV);
    expect(v.code, v.stdout + v.stderr).toBe(0);
  }, 90_000);
});
