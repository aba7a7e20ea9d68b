/**
 * The application (run by test/support/app-user.ts as its own user): opens `<dataDir>`, writes `<n>`
 * documents, then closes, or with `crash` is killed, leaving its last WAL segment holding lines.
 * Prints `ok`, or the error: `<code or UNTYPED> <message>`.
 */
import { createDB } from '../../src/db.js';
import { isBriError } from '../../src/errors.js';

const [dataDir, n, how] = process.argv.slice(2);
try {
  const db = await createDB({ storeConfig: { dataDir: dataDir!, fsyncMode: 'always' } });
  for (let i = 0; i < Number(n); i++) await db.set(`APP_${Date.now()}_${i}`, { i });
  if (how === 'crash') process.kill(process.pid, 'SIGKILL');
  await db.close();
  console.log('ok');
} catch (err) {
  console.log(`${isBriError(err) ? err.code : 'UNTYPED'} ${(err as Error).message}`);
  process.exitCode = 1;
}
