/**
 * `npm run demo`: the main job on local files, no cloud account needed.
 * Writes to a database, archives it twice (zstd + SHA-256 + PAR2), verifies,
 * repairs a damaged copy, and restores the latest state and a point in time.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createDB, openRestore } from '../src/index.js';
import { repairArchive } from '../src/archive/package/recovery.js';
import { verifyDataDir } from '../src/store/verify-data-dir.js';

const root = path.resolve(process.env.BRI_DEMO_DIR ?? '.demo');
const dataDir = path.join(root, 'data');
await fsp.rm(root, { recursive: true, force: true });
const step = (s: string) => console.log(`\n== ${s}`);

step(`writing to ${dataDir}`);
const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 64 * 1024 } });
const cities = ['Oslo', 'Lisbon', 'Osaka', 'Tallinn'];
async function round(r: number): Promise<void> {
  const writes: Array<Promise<unknown>> = [];
  for (let i = 0; i < 300; i++) {
    const id = `USER_${r}_${i}`;
    writes.push(db.set(id, { name: `User ${r}.${i}`, city: cities[i % 4], joined: new Date(), tags: new Set(['a']) }));
    writes.push(db.sAdd('USER?', id));
  }
  await Promise.all(writes);
}
await round(0);
await round(1);
const first = await db.archive.create({ name: 'first', level: 9 });
console.log(`archive ${first.archiveId}: lines ${first.manifest.timeRange.walLines.start + 1}..${first.manifest.timeRange.walLines.end}, ${first.bytes} bytes, par2 ${first.manifest.errorCorrection.recoveryBlockCount} recovery blocks`);
const pointInTime = Date.now();
await new Promise((r) => setTimeout(r, 5));
await round(2);
await db.rename('USER_0_0', 'X:USER_0_0:X');
await db.sRem('USER?', 'USER_0_0');
const second = await db.archive.create({ name: 'second', level: 9 });
console.log(`archive ${second.archiveId}: lines ${second.manifest.timeRange.walLines.start + 1}..${second.manifest.timeRange.walLines.end}, continues pointer ${second.manifest.chain.prevPointer}`);
const documents = db.state.documents.size;
await db.close();

step('verifying the archives');
const restore = openRestore({ dataDir });
for (const id of [first.archiveId, second.archiveId]) {
  const r = await restore.verify(id);
  console.log(`${id}: ${r.ok ? 'OK' : 'FAILED'} (${r.checked.walLines} lines, chain ${r.checked.chain})`);
}

step('damaging a copy of the second archive and repairing it with PAR2');
const damaged = path.join(root, 'damaged.bri');
const bytes = await fsp.readFile(second.file);
for (const at of [100, Math.floor(bytes.length / 3)]) bytes[at] = (bytes[at] ?? 0) ^ 0xff;
await fsp.writeFile(damaged, bytes);
const repaired = await repairArchive(damaged, path.join(root, 'repaired.bri'));
console.log(`repaired ${repaired.repairedBlocks} of ${repaired.damagedBlocks} damaged blocks; identical to the original: ${(await fsp.readFile(repaired.file)).equals(await fsp.readFile(second.file))}`);

step('restoring');
const latest = await restore.fromLatest({ targetDir: path.join(root, 'restored-latest') });
console.log(`latest: ${latest.documents} documents (the database had ${documents}), through line ${latest.lastLine}`);
const pitr = await restore.toTimestamp(pointInTime, { targetDir: path.join(root, 'restored-at-first') });
console.log(`at ${new Date(pointInTime).toISOString()}: ${pitr.documents} documents, from ${pitr.plan.archive!.manifest.archiveId}`);
const check = await verifyDataDir(latest.targetDir);
console.log(`bri data verify on the restored directory: ${check.ok ? 'OK' : 'FAILED'}`);
if (!check.ok || latest.documents !== documents) process.exitCode = 1;
