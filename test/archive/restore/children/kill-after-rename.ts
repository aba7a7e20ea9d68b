/**
 * Preload for a child process (`--import` after tsx): $BRI_KILL_AFTER_RENAME_TO, an absolute path, makes
 * the process SIGKILL itself right after an fs.promises.rename into that path succeeds (a restore killed
 * between its swap and what follows it).
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';

const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
const to = process.env.BRI_KILL_AFTER_RENAME_TO;
if (to) {
  const rename = fs.promises.rename;
  fs.promises.rename = async (from, dest) => {
    await rename(from, dest);
    if (dest === to) process.kill(process.pid, 'SIGKILL');
  };
  syncBuiltinESMExports();
}
