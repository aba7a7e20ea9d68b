import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArchiveApi, offlineHost } from '../../src/archive/archive-api.js';
import { toPlainState } from '../../src/format/state.js';
import { recover } from '../../src/store/recovery.js';
import { verifyChain } from '../../src/store/wal/chain.js';
import { copyFixture, fixturesPresent, loadCheckpoints, normalizeState } from '../support/fixtures.js';
import { REPO_ROOT } from '../support/child.js';
import { flipByte, requireTools } from '../support/tools.js';

const made: string[] = [];
afterAll(async () => {
  for (const d of made) await fsp.rm(d, { recursive: true, force: true });
});

/** Exactly the shell blocks of docs/restore-by-hand.md marked `sh by-hand`, in order. */
function byHandScript(): string {
  const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs/restore-by-hand.md'), 'utf8');
  const blocks = [...doc.matchAll(/```sh by-hand\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(blocks.length).toBeGreaterThanOrEqual(4);
  return blocks.join('\n');
}

function runByHand(env: Record<string, string>): string {
  return execFileSync('bash', ['-e', '-o', 'pipefail', '-c', byHandScript()], { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const tools = requireTools('par2', 'tar', 'zstd', 'sha256sum', 'awk', 'sed');

describe.skipIf(!tools || !fixturesPresent())('docs/restore-by-hand.md, run as written', () => {
  it('gives back the data directory, to the end and to a point in time, from an intact and a damaged archive', async () => {
    const dataDir = await copyFixture('crashed');
    const root = path.dirname(dataDir);
    made.push(root);
    const api = new ArchiveApi(offlineHost(dataDir, undefined));
    const { file } = await api.create();
    const cps = loadCheckpoints('crashed');

    const latest = path.join(root, 'by-hand-latest');
    expect(runByHand({ ARCHIVE: file, OUT: latest })).toContain('archive intact');
    expect(normalizeState(toPlainState((await recover(latest)).state))).toEqual(normalizeState(cps[cps.length - 1]!.state));
    expect((await verifyChain(latest)).ok).toBe(true);

    const cp = cps[2]!;
    const pitr = path.join(root, 'by-hand-pitr');
    runByHand({ ARCHIVE: file, OUT: pitr, T: String(cp.at) });
    expect(normalizeState(toPlainState((await recover(pitr)).state))).toEqual(normalizeState(cp.state));

    // Damage a few bytes in the manifest, a tar header and a WAL member: par2 repairs, the rest follows.
    const damaged = path.join(root, 'damaged', path.basename(file));
    await fsp.mkdir(path.dirname(damaged));
    const buf = await fsp.readFile(file);
    for (const at of [100, 600, 4000, Math.floor(buf.length / 2)]) flipByte(buf, at, 0xa5);
    await fsp.writeFile(damaged, buf);
    const repairedOut = path.join(root, 'by-hand-repaired');
    expect(runByHand({ ARCHIVE: damaged, OUT: repairedOut })).toContain('archive repaired');
    expect(normalizeState(toPlainState((await recover(repairedOut)).state))).toEqual(normalizeState(cps[cps.length - 1]!.state));
  });

  it('works on any file name: the archive id comes from its content, intact, damaged, or named like another archive', async () => {
    const dataDir = await copyFixture('crashed');
    const root = path.dirname(dataDir);
    made.push(root);
    const { file, archiveId } = await new ArchiveApi(offlineHost(dataDir, undefined)).create();
    const last = normalizeState(loadCheckpoints('crashed').at(-1)!.state);
    const copies = path.join(root, 'copies');
    await fsp.mkdir(copies);
    const names = ['backup.bri', 'latest', 'my backup (copy).bri', '-dash.tar', '20990101T000000000Z-deadbeef.bri'];
    for (const [i, name] of names.entries()) {
      const renamed = path.join(copies, name);
      await fsp.copyFile(file, renamed);
      const out = path.join(root, `out-${i}`);
      const said = runByHand({ ARCHIVE: renamed, OUT: out });
      expect(said, name).toContain('archive intact');
      expect(said, name).toContain(`archive ${archiveId}`);
      expect(said, name).toContain(`restored into ${out}`);
      expect(normalizeState(toPlainState((await recover(out)).state)), name).toEqual(last);
      expect((await verifyChain(out)).ok, name).toBe(true);
    }

    // A renamed, damaged copy is repaired under the name its PAR2 set records.
    const buf = await fsp.readFile(file);
    for (const at of [100, 600, 4000, Math.floor(buf.length / 2)]) flipByte(buf, at, 0x5a);
    const damaged = path.join(copies, 'damaged copy.bri');
    await fsp.writeFile(damaged, buf);
    const repairedOut = path.join(root, 'out-repaired');
    const said = runByHand({ ARCHIVE: damaged, OUT: repairedOut });
    expect(said).toContain('archive repaired');
    expect(said).toContain(`archive ${archiveId}`);
    expect(normalizeState(toPlainState((await recover(repairedOut)).state))).toEqual(last);

    // Damage past what PAR2 can repair stops the steps before a directory is made, and says nothing was restored.
    const ruined = Buffer.from(await fsp.readFile(file));
    ruined.fill(0x42, 512, Math.floor(ruined.length * 0.9));
    const ruinedFile = path.join(copies, 'ruined.bri');
    await fsp.writeFile(ruinedFile, ruined);
    const ruinedOut = path.join(root, 'out-ruined');
    let stdout = '';
    expect(() => {
      try {
        runByHand({ ARCHIVE: ruinedFile, OUT: ruinedOut });
      } catch (err) {
        stdout = String((err as { stdout?: string }).stdout ?? '');
        throw err;
      }
    }).toThrow();
    expect(stdout).not.toContain('restored into');
    await expect(fsp.access(ruinedOut)).rejects.toThrow();
  });

  it('an archive without recovery data, renamed, restores as it is', async () => {
    const dataDir = await copyFixture('crashed');
    const root = path.dirname(dataDir);
    made.push(root);
    const { file, archiveId } = await new ArchiveApi(offlineHost(dataDir, undefined), { errorCorrection: { enabled: false } }).create();
    const renamed = path.join(root, 'no-par2.bri');
    await fsp.rename(file, renamed);
    const out = path.join(root, 'out');
    const said = runByHand({ ARCHIVE: renamed, OUT: out });
    expect(said).toContain('archive has no recovery data');
    expect(said).toContain(`archive ${archiveId}`);
    expect(normalizeState(toPlainState((await recover(out)).state))).toEqual(normalizeState(loadCheckpoints('crashed').at(-1)!.state));
  });
});

const ageTool = requireTools('par2', 'tar', 'zstd', 'sha256sum', 'awk', 'sed', 'age', 'age-keygen');

describe.skipIf(!ageTool || !fixturesPresent())('docs/restore-by-hand.md on an archive encrypted with age', () => {
  it('decrypts every member with age -d -i, to the end and to a point in time, after a PAR2 repair made with no key; a wrong identity stops it before any WAL is written', async () => {
    const dataDir = await copyFixture('crashed');
    const root = path.dirname(dataDir);
    made.push(root);
    const keyFile = path.join(root, 'key.txt');
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
    const recipient = execFileSync('age-keygen', ['-y', keyFile], { encoding: 'utf8' }).trim();
    const api = new ArchiveApi(offlineHost(dataDir, undefined), { encryption: { recipients: [recipient] } });
    const { file, manifest } = await api.create();
    expect(manifest.contents.snapshot.file).toBe('snapshot.jss.zst.age');
    const cps = loadCheckpoints('crashed');

    const damaged = path.join(root, 'damaged', path.basename(file));
    await fsp.mkdir(path.dirname(damaged));
    const buf = await fsp.readFile(file);
    for (const at of [600, Math.floor(buf.length / 2)]) flipByte(buf, at, 0xa5);
    await fsp.writeFile(damaged, buf);
    const latest = path.join(root, 'age-latest');
    expect(runByHand({ ARCHIVE: damaged, OUT: latest, AGE_IDENTITY: keyFile })).toContain('archive repaired');
    expect(normalizeState(toPlainState((await recover(latest)).state))).toEqual(normalizeState(cps[cps.length - 1]!.state));

    const cp = cps[2]!;
    const pitr = path.join(root, 'age-pitr');
    runByHand({ ARCHIVE: file, OUT: pitr, T: String(cp.at), AGE_IDENTITY: keyFile });
    expect(normalizeState(toPlainState((await recover(pitr)).state))).toEqual(normalizeState(cp.state));

    const other = path.join(root, 'other.txt');
    execFileSync('age-keygen', ['-o', other], { stdio: 'ignore' });
    const wrong = path.join(root, 'age-wrong');
    expect(() => runByHand({ ARCHIVE: file, OUT: wrong, AGE_IDENTITY: other })).toThrow();
    expect(fs.existsSync(path.join(wrong, 'wal')) ? fs.readdirSync(path.join(wrong, 'wal')) : []).toEqual([]);
  });
});
