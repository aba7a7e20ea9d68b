/**
 * Child for the I/O fault test: an application with a database open calls db.archive.create()
 * while the disk under the archive directory is full (injected), catches the error, writes on
 * and closes. Prints CAUGHT <code> <message>, HINT <hint>, WROTE <n>, CLOSED.
 *   full-disk-app.ts <dataDir>
 */
import { createDB } from '../../../src/db.js';
import { isBriError } from '../../../src/errors.js';

const dataDir = process.argv[2]!;
const say = (line: string) => process.stdout.write(line + '\n');
const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 3 } } } });
try {
  await db.archive.create();
  say('CREATED');
} catch (err) {
  say(`CAUGHT ${isBriError(err) ? err.code : 'raw'} ${(err as Error).message}`);
  if (isBriError(err)) say(`HINT ${err.hint ?? ''}`);
}
let n = 0;
for (; n < 50; n++) await db.set(`AFTER_${n}`, { n });
say(`WROTE ${n}`);
await db.close();
say('CLOSED');
