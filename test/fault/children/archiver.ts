/**
 * Crash-test child: creates one archive of a data directory and says so.
 *   archiver.ts <dataDir> <db|offline> <level>
 * Prints "loaded" once its modules are loaded and waits for SIGUSR1 before it
 * touches the directory (so that the test can start it ahead of time). Then
 * "db": opens the store (createDB) and uses db.archive.create(); "offline": the
 * directory stays closed and ArchiveApi(offlineHost(...)) takes its lock per
 * operation, as `bri archive create` does. Prints "ready" once the directory is
 * open (or the API built), "phase <name>" as creation progresses, then
 * "done <archiveId>". The test SIGKILLs it at a random moment.
 */
import { ArchiveApi, offlineHost } from '../../../src/archive/archive-api.js';
import { createDB } from '../../../src/db.js';

const [dataDir, mode, levelText] = process.argv.slice(2) as [string, 'db' | 'offline', string];
const level = Number(levelText);
let phase = '';
const onProgress = (p: { phase: string }) => {
  if (p.phase !== phase) process.stdout.write(`phase ${(phase = p.phase)}\n`);
};

const keepAlive = setInterval(() => {}, 1 << 30); // a signal listener alone does not keep the process up
const go = new Promise<void>((resolve) => process.once('SIGUSR1', () => resolve()));
process.stdout.write('loaded\n');
await go;
clearInterval(keepAlive);

if (mode === 'offline') {
  const api = new ArchiveApi(offlineHost(dataDir, undefined, 'crash-test archiver'));
  process.stdout.write('ready\n');
  const created = await api.create({ level, onProgress });
  process.stdout.write(`done ${created.archiveId}\n`);
} else {
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
  process.stdout.write('ready\n');
  const created = await db.archive.create({ level, onProgress });
  process.stdout.write(`done ${created.archiveId}\n`);
  await db.close();
}
