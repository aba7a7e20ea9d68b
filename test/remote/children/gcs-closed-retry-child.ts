/**
 * Child for "a GCS library retry after close() does not kill the process": with the library's own
 * retries on (its default), downloads that time out are given up on and their store closed, and the
 * library then retries them on new connections, which the closed store's limits destroy. Whether
 * that takes the process down is the question, so it runs in a child.
 *   gcs-closed-retry-child.ts <endpoint> <bucket> <key> <rounds>
 * Prints one line per round (`failed <code>` or `read`), then `SURVIVED` after the retries had time to fire (exit 0).
 */
import { writeSync } from 'node:fs';
import { createRemote } from '../../../src/remote/registry.js';

const [endpoint, bucket, key, roundsText] = process.argv.slice(2) as [string, string, string, string];
const say = (line: string): void => {
  writeSync(1, line + '\n');
};
for (let i = 0; i < Number(roundsText); i++) {
  // idleMs 1: the download is cut at once; no sdkMaxRetries, so the library keeps its own retries.
  const store = createRemote({ provider: 'gcs', bucket, endpoint, projectId: 'test', timeouts: { idleMs: 1 }, retry: false });
  try {
    for await (const chunk of await store.get(key)) void chunk;
    say('read');
  } catch (err) {
    say(`failed ${(err as { code?: string }).code ?? (err as Error).message}`);
  }
  await store.close();
}
// The library's retries wait up to a few seconds before they open their connection.
await new Promise((resolve) => setTimeout(resolve, 3000));
say('SURVIVED');
