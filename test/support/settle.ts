/** Waiting in tests for what happens in the background (a trigger run, a hook, a shipping tick), and saying how a call ended. */

/** How a promise settled: 'ok', or 'CODE: message' (a BriError's code), for one assertion on the answer. */
export function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
  );
}

/** Resolves once `done()` is true, polling every 20 ms; rejects after `ms` naming `what`. */
export async function until(done: () => boolean, ms = 20_000, what = 'the condition'): Promise<void> {
  for (const end = Date.now() + ms; !done(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
