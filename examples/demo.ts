/**
 * `npm run demo`: the main job on local files, no cloud account needed.
 * Opens a data directory under ./.demo, writes a workload, snapshots, reopens
 * (recovery), verifies the chain and prints the figures.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { createDB } from '../src/index.js';
import { verifyDataDir } from '../src/store/verify-data-dir.js';
import { collectStats } from '../src/store/stats.js';

const root = path.resolve(process.env.BRI_DEMO_DIR ?? '.demo');
const dataDir = path.join(root, 'data');
await fsp.rm(root, { recursive: true, force: true });

console.log(`data directory: ${dataDir}`);
let db = await createDB({ storeConfig: { dataDir, walSegmentSize: 64 * 1024 } });
const cities = ['Oslo', 'Lisbon', 'Osaka', 'Tallinn'];
for (let round = 0; round < 5; round++) {
  const writes: Array<Promise<unknown>> = [];
  for (let i = 0; i < 200; i++) {
    const id = `USER_${round}_${i}`;
    writes.push(db.set(id, { name: `User ${round}.${i}`, city: cities[i % 4], joined: new Date(), tags: new Set(['a']) }));
    writes.push(db.sAdd('USER?', id));
  }
  await Promise.all(writes);
  if (round === 2) console.log('snapshot at line', (await db.createSnapshot()).walLine);
}
await db.rename('USER_0_0', 'X:USER_0_0:X');
await db.sRem('USER?', 'USER_0_0');
console.log('written:', db.info());
await db.close();

db = await createDB({ storeConfig: { dataDir } });
console.log(`reopened: ${db.keys('USER_').length} users, ${db.sMembers('USER?').length} in USER?`);
await db.close();

const report = await verifyDataDir(dataDir);
console.log(`verify: ${report.ok ? 'OK' : 'FAILED'} (${report.chain.lines} lines, ${report.chain.segments} segments)`);
const stats = await collectStats(dataDir);
console.log('operations:', stats.byOperation);
if (!report.ok) process.exitCode = 1;
