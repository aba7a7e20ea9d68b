/**
 * A dry run of a clone printed an instance id the real clone never got (each run drew its own): a script that
 * kept it for `--instance` pointed at nothing. The dry run says the id is new and not known (null, newInstance);
 * with --new-instance-id it is that one; a restore that continues the chain says its instance, as the real run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-dry-run-instance-');

describe('the instance a dry run reports', () => {
  it('clone: null and newInstance in the dry run, a real id in the real run; --new-instance-id and latest as they will be', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.set('A', { v: 1 });
    const { manifest } = await db.archive.create();
    await db.close();
    const target = path.join(root, 'clone');
    const dry = JSON.parse((await runCli(['restore', 'clone', '-d', dataDir, '--target', target, '--dry-run', '--json'])).stdout);
    expect(dry).toMatchObject({ dryRun: true, instanceId: null, newInstance: true });
    const real = await runCli(['restore', 'clone', '-d', dataDir, '--target', target, '--json']);
    expect(real.code, real.stderr).toBe(0);
    const made = JSON.parse(real.stdout);
    expect(made).toMatchObject({ dryRun: false, newInstance: true });
    expect(made.instanceId).toBe(JSON.parse(fs.readFileSync(path.join(target, 'bri-archive.json'), 'utf8')).instanceId);

    const named = JSON.parse((await runCli(['restore', 'clone', '-d', dataDir, '--target', path.join(root, 'c2'), '--new-instance-id', 'staging', '--dry-run', '--json'])).stdout);
    expect(named).toMatchObject({ instanceId: 'staging', newInstance: true });
    // A copy of the newest state beside its original (still there) is a new instance too; with the original gone, it carries the chain on.
    const beside = JSON.parse((await runCli(['restore', 'latest', '-d', dataDir, '--target', path.join(root, 'l'), '--dry-run', '--json'])).stdout);
    expect(beside).toMatchObject({ instanceId: null, newInstance: true });
    fs.renameSync(path.join(dataDir, 'archives'), path.join(root, 'archives'));
    fs.rmSync(dataDir, { recursive: true });
    const latest = JSON.parse((await runCli(['restore', 'latest', '-d', dataDir, '-a', path.join(root, 'archives'), '--target', path.join(root, 'l'), '--dry-run', '--json'])).stdout);
    expect(latest).toMatchObject({ instanceId: manifest.instanceId, newInstance: false });
  });
});
