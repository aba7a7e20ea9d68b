/**
 * Child for the shipping tests: opens a database with continuous shipping to
 * the remotes given as JSON (argv[3]), archives once at the start when asked,
 * then writes unique keys every few ms and prints one line per event:
 *   ACK <key> <ackMs>        a write acknowledged (durable)
 *   SHIPPED <source> <first> <last> <ms>
 *   SHIPFAIL <source> <message>
 * The test SIGKILLs it.
 *   shipping-writer.ts <dataDir> <remotesJson> <intervalMs> <run> <archiveFirst:0|1>
 */
import { createDB } from '../../../src/db.js';

const [dataDir, remotesJson, intervalText, runText, archiveFirst] = process.argv.slice(2) as [string, string, string, string, string];
const say = (line: string) => process.stdout.write(line + '\n');
const db = await createDB({
  storeConfig: {
    dataDir,
    walSegmentSize: 32 * 1024,
    fsyncMode: 'batched',
    batchIntervalMs: 5,
    snapshotOnClose: false,
    archive: { remotes: JSON.parse(remotesJson) as unknown[], continuous: { enabled: true, intervalMs: Number(intervalText) }, compression: { level: 1 } },
  },
});
db.archive.on('shipping', (e) => {
  if (e.kind === 'shipped') say(`SHIPPED ${e.source} ${e.firstLine} ${e.lastLine} ${Date.now()}`);
  else if (e.kind === 'ship-failed') say(`SHIPFAIL ${e.source} ${e.error.message.replace(/\s+/g, ' ')}`);
});
if (archiveFirst === '1') {
  await db.set(`BASE_${runText}`, { base: true });
  await db.archive.create();
}
say('READY');
for (let n = 0; ; n++) {
  const key = `K_${runText}_${n}`;
  await db.set(key, { n, pad: 'w'.repeat(n % 64) });
  say(`ACK ${key} ${Date.now()}`);
  await new Promise((r) => setTimeout(r, 3));
}
