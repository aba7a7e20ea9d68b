/**
 * Crash-test child: writes forever with fsyncMode 'always', printing "ack <i>" once
 * each write is acknowledged. Snapshots now and then. Killed with SIGKILL by the test.
 */
import { BriStore } from '../../../src/store/store.js';

const [dataDir, startText] = process.argv.slice(2) as [string, string];
const start = Number(startText);
const db = await BriStore.open({ dataDir, fsyncMode: 'always', walSegmentSize: 4096, snapshotOnClose: false });
process.stdout.write('ready\n');
let i = start;
for (;;) {
  // A few writes in flight at once, so that group commit and rotation are exercised.
  const batch = [];
  for (let k = 0; k < 4; k++, i++) {
    const n = i;
    batch.push(
      db.set(`K_${n}`, { n, pad: 'p'.repeat(n % 50) }).then(() => db.sAdd('ALL', String(n))).then(() => process.stdout.write(`ack ${n}\n`)),
    );
  }
  await Promise.all(batch);
  if (i % 60 === 0) await db.createSnapshot();
}
