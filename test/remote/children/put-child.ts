/**
 * Child for the fault suite's "uploader SIGKILLed mid-upload" case: uploads one
 * file to the remote given as JSON config (no retries), and once `stallAt`
 * bytes have been read and sent it prints `STALLED <sent>` and freezes (the
 * event loop blocked: nothing more is sent, nothing is finished or cleaned
 * up), so that the test's SIGKILL lands in the middle of the upload.
 *   put-child.ts <configJson> <key> <path> <size> <sha256> <stallAt>
 * Prints `DONE` (exit 0) if the put finished first, `FAILED <message>` (exit 2)
 * if it failed.
 */
import { writeSync } from 'node:fs';
import { createRemote } from '../../../src/remote/registry.js';

const [configJson, key, file, sizeText, sha256, stallText] = process.argv.slice(2) as [string, string, string, string, string, string];
const say = (line: string): void => {
  writeSync(1, line + '\n');
};
const stallAt = Number(stallText);
const store = createRemote(JSON.parse(configJson) as unknown, { retry: false });
try {
  await store.put(
    key,
    { path: file },
    {
      size: Number(sizeText),
      sha256,
      onProgress: (sent) => {
        if (sent < stallAt) return;
        say(`STALLED ${sent}`);
        // Freeze right here until killed (60 s at most, then say so and fail).
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
        say('NOT KILLED');
        process.exit(3);
      },
    },
  );
  say('DONE');
  process.exit(0);
} catch (err) {
  say(`FAILED ${(err as Error).message.replace(/\s+/g, ' ')}`);
  process.exit(2);
}
