/**
 * The restore's plan through the CLI: -a pointing at another database's archives is refused over a data
 * directory that records its own chain (USAGE, nothing replaced), and a moment two archives sealed for
 * different recipients hold is restored with the identity of the one that opens it.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { createDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { recover } from '../../../src/store/recovery.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-restore-planning-cli-');
const pause = () => new Promise((res) => setTimeout(res, 30));
const keysOf = async (dir: string) => Object.keys(toPlainState((await recover(dir)).state).documents).sort();
const noIdentity = { BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: '' };

async function write(dataDir: string, keys: string[], archive: boolean, encryption?: { recipients: string[]; identityFile?: string }): Promise<number> {
  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, ...(encryption ? { encryption } : {}) } } });
  try {
    for (const k of keys) await db.set(k, { k });
    await pause();
    const between = Date.now();
    await pause();
    if (archive) await db.archive.create();
    return between;
  } finally {
    await db.close();
  }
}

describe('restore planning through the CLI', () => {
  it("refuses restore latest over a data directory from -a holding only another database's archives (USAGE, exit 2, nothing replaced); --instance takes it", async () => {
    const root = await tmp();
    const mine = path.join(root, 'mine');
    const theirs = path.join(root, 'theirs');
    await write(mine, ['MINE_0', 'MINE_1'], true);
    await write(mine, ['MINE_NEW_0'], false);
    await write(theirs, ['THEIRS_0'], true);
    const theirId = (await readArchiveState(theirs))!.instanceId;
    const cli = await runCli(['restore', 'latest', '-d', mine, '-a', path.join(theirs, 'archives'), '--force', '--clean-existing']);
    expect(cli.stderr).toContain('[USAGE]');
    expect(cli.stderr).toContain(theirId);
    expect(cli.stderr).toContain('--instance');
    expect(cli.code, cli.stderr).toBe(2);
    expect(await keysOf(mine)).toEqual(['MINE_0', 'MINE_1', 'MINE_NEW_0']);
    const named = await runCli(['restore', 'latest', '-d', mine, '-a', path.join(theirs, 'archives'), '--force', '--instance', theirId]);
    expect(named.code, named.stderr).toBe(0);
    expect(await keysOf(mine)).toEqual(['THEIRS_0']);
  }, 120_000);

  it('restores a moment two archives hold (recipients k1, then k2) with -i k1: from the archive k1 opens', async () => {
    const root = await tmp();
    const secrets = [await generateIdentity(), await generateIdentity()];
    const files = secrets.map((_, i) => path.join(root, `k${i + 1}.txt`));
    for (const [i, s] of secrets.entries()) await fsp.writeFile(files[i]!, `${s}\n`, { mode: 0o600 });
    const [r1, r2] = await Promise.all(secrets.map((s) => identityToRecipient(s)));
    const data = path.join(root, 'data');
    const between = await write(data, ['ONE'], true, { recipients: [r1!] });
    await write(data, ['TWO'], true, { recipients: [r2!], identityFile: files[0]! });
    const out = path.join(root, 'out');
    const cli = await runCli(['restore', 'to-timestamp', new Date(between).toISOString(), '-d', data, '--target', out, '-i', files[0]!], noIdentity);
    expect(cli.code, cli.stderr).toBe(0);
    expect(await keysOf(out)).toEqual(['ONE']);
  }, 120_000);
});
