/**
 * Crash-test child for archive + upload + WAL cleanup:
 *   cleaner.ts <dataDir> <nasDir> <run> <ops> <seed>
 * Opens the database with cleanupWal and a local-directory remote, writes
 * <ops> seeded operations (each acknowledged), prints "stamp <ms> <digest>"
 * (the state's digest once every write is durable; the next line is stamped
 * later), then runs one archive job and prints each step it reaches
 * ("step <name>"). With PAUSE_AT=<step> it prints "paused <step>" when it
 * gets there and blocks, so that the test kills it exactly there.
 */
import { createHash } from 'node:crypto';
import { createDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import { normalizeState } from '../../support/fixtures.js';
import { prng } from '../../support/child.js';

const [dataDir, nasDir, runText, opsText, seedText] = process.argv.slice(2) as [string, string, string, string, string];
const run = Number(runText);
const rand = prng(Number(seedText) + run * 7919);
const pauseAt = process.env.PAUSE_AT;

const say = (line: string) => process.stdout.write(line + '\n'); // a pipe: written before the next statement
const step = (name: string) => {
  say(`step ${name}`);
  if (name === pauseAt) {
    say(`paused ${name}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30_000); // the test kills us here
  }
};

const db = await createDB({
  storeConfig: {
    dataDir,
    walSegmentSize: 1536,
    snapshotOnClose: false,
    archive: { cleanupWal: true, compression: { level: 1 }, remotes: [{ provider: 'local', name: 'nas', path: nasDir }] },
  },
});
const keys = Array.from({ length: 40 }, (_, i) => `K_${i}`);
const pick = () => keys[Math.floor(rand() * keys.length)]!;
for (let i = 0; i < Number(opsText); i++) {
  const r = rand();
  if (r < 0.55) await db.set(pick(), { run, i, pad: 'q'.repeat(Math.floor(rand() * 60)) });
  else if (r < 0.65) await db.delete(pick());
  else if (r < 0.8) await db.sAdd(`S_${Math.floor(rand() * 4)}`, pick());
  else if (r < 0.9) await db.sRem(`S_${Math.floor(rand() * 4)}`, pick());
  else {
    const from = pick();
    if (db.has(from)) await db.rename(from, `${from}_r${run}`);
    else await db.set(from, { renamedLater: true });
  }
}
const digest = createHash('sha256').update(JSON.stringify(normalizeState(toPlainState(db.state)))).digest('hex');
const t = Date.now();
say(`stamp ${t} ${digest}`);
while (Date.now() <= t) await new Promise((r) => setTimeout(r, 1));

let phase = '';
db.archive.on('progress', (p) => {
  if (p.phase !== phase) step((phase = p.phase));
});
db.archive.on('upload', (e) => {
  if (e.kind === 'upload-start') step('upload-start');
  if (e.kind === 'upload-done') step('upload-done');
});
db.archive.on('cleanup', (e) => step(`cleanup-${e.step}`));
const r = await db.archive.create();
say(`archived ${r.archiveId} ${r.cleanup && !('error' in r.cleanup) ? r.cleanup.segments.length : 'x'}`);
await db.close();
say('closed');
