import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArchiveApi, offlineHost } from '../../src/archive/archive-api.js';
import { toPlainState } from '../../src/format/state.js';
import { recover } from '../../src/store/recovery.js';
import { verifyChain } from '../../src/store/chain.js';
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
});
