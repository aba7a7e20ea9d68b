/**
 * Callbacks a caller passes in an options object (onProgress, onVerified, onProblem, ...), made harmless for
 * every call of a method at once: a verify, a download or an upload whose progress bar threw failed with the
 * application's own error (a download said "no good copy": the archive looked damaged).
 */
import { withHarmless } from './archive-job.js';

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
