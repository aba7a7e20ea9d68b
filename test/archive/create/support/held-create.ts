/**
 * A child for the concurrent-create tests: `archive create` of <dataDir> into <archiveDir> that stops once its
 * WAL is staged (the chain tip decided, its stage directory full) and prints `staged`, then goes on when <goFile>
 * exists and prints the archive id. It blocks its own thread: nothing of it runs meanwhile, as a slow disk would.
 */
import * as fs from 'node:fs';
import { ArchiveApi, offlineHost } from '../../../../src/archive/archive-api.js';

const [dataDir, archiveDir, goFile] = process.argv.slice(2) as [string, string, string];
const api = new ArchiveApi(offlineHost(dataDir, undefined, 'bri archive create'), { localDir: archiveDir, compression: { level: 3 } });
const pause = new Int32Array(new SharedArrayBuffer(4));
let held = false;
const created = await api.create({
  onProgress: (e) => {
    if (e.phase !== 'snapshot' || held) return;
    held = true;
    process.stdout.write('staged\n');
    // A test that failed and removed its directory never says go: give up rather than stay behind.
    while (!fs.existsSync(goFile)) {
      if (!fs.existsSync(dataDir)) process.exit(3);
      Atomics.wait(pause, 0, 0, 20);
    }
  },
});
process.stdout.write(`created ${created.archiveId}\n`);
