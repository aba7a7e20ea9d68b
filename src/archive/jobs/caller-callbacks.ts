/**
 * A caller's callbacks and listeners (onProgress, onVerified, event listeners, ...) are the application's code:
 * one that throws or rejects never fails the run it watches nor reaches the host as an unhandled rejection
 * (a download whose progress bar threw said "no good copy", as if the archive were damaged). Its error is a
 * BRI_LISTENER_ERROR process warning.
 */

/** A caller's callback that throws is its display's bug: the archive goes on (as a restore does), the error is a warning. */
export function guarded<E>(callback: ((e: E) => unknown) | undefined, e: E): void {
  callSafely(callback, [e], 'an archive callback');
}

function listenerWarning(what: string, err: unknown): void {
  process.emitWarning(`${what} threw: ${err instanceof Error ? err.message : String(err)}`, { code: 'BRI_LISTENER_ERROR' });
}

/**
 * Calls a caller's callback or listener so that neither its throw nor its rejected promise (an `async`
 * listener) can fail the run or reach the host as an unhandled rejection: either is a BRI_LISTENER_ERROR warning.
 */
export function callSafely<A extends unknown[]>(callback: ((...a: A) => unknown) | undefined, args: A, what: string): void {
  if (typeof callback !== 'function') return;
  try {
    const result = callback(...args);
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, (err: unknown) => listenerWarning(what, err));
    }
  } catch (err) {
    listenerWarning(what, err);
  }
}

/** The callback made harmless (see callSafely), for passing down to code that calls it as it likes. */
export function harmless<A extends unknown[]>(callback: ((...a: A) => unknown) | undefined, what: string): ((...a: A) => void) | undefined {
  return typeof callback === 'function' ? (...args: A) => callSafely(callback, args, what) : undefined;
}

/** `opts` with its callbacks named by `keys` made harmless (see callSafely). */
export function withHarmless<T extends object>(opts: T, keys: ReadonlyArray<keyof T & string>, what: string): T {
  const out = { ...opts } as Record<string, unknown>;
  for (const k of keys) if (typeof out[k] === 'function') out[k] = harmless(out[k] as (...a: unknown[]) => unknown, `${what}'s ${k}`);
  return out as T;
}

/**
 * Wraps each named method of `proto` so that the callbacks named by `keys` in its options argument (at the index
 * given per method) are called with callSafely: a throw or rejection is a BRI_LISTENER_ERROR warning.
 */
export function withHarmlessOptions(proto: object, methods: Record<string, number>, keys: readonly string[], prefix: string): void {
  const target = proto as Record<string, unknown>;
  for (const [name, index] of Object.entries(methods)) {
    const original = target[name];
    if (typeof original !== 'function') throw new Error(`withHarmlessOptions: ${prefix}.${name} is not a method`);
    target[name] = function (this: unknown, ...args: unknown[]): unknown {
      const opts = args[index];
      if (typeof opts === 'object' && opts !== null && !Array.isArray(opts)) args[index] = withHarmless(opts, keys as never, `${prefix}.${name}`);
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
}
