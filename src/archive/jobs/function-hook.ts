/**
 * Archive hooks given as functions (the API): run so that what they do wrong is said as HOOK_FAILED, as a
 * command hook's failure is, and so that a hook calling back into the archive API that waits for it is refused.
 * A hook runs inside an archive run: `db.archive.create()`, a prune, a cleanup or `db.close()` from it would
 * wait for the run, which waits for the hook, forever.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import { withDeadline } from '../../remote/streams.js';

/**
 * A hook's run, as the code it calls sees it: `running` ends when the hook settles (or is no longer waited for);
 * `awaited` is false for a call nothing waits for (an onError told of a shipping failure): no run waits for it.
 */
interface HookRun {
  hook: string;
  running: boolean;
  awaited: boolean;
}

/**
 * The hook the current code runs in. Every timer and promise the hook creates inherits it, and it is never
 * cleared: what it scheduled for later (setImmediate, as the refusal's hint says) checks `running`, not its presence.
 */
const insideHook = new AsyncLocalStorage<HookRun>();

/** Set around a hook call that nothing awaits (see notAwaited); cleared again inside the hook, for what it starts. */
const unawaited = new AsyncLocalStorage<boolean>();

/**
 * Runs `call`, which calls a hook that no archive run waits for (`void` from continuous shipping's failure): what
 * the hook calls (db.close(), db.archive.create()) waits for nothing that waits for the hook, so it is not refused.
 */
export function notAwaited<T>(call: () => T): T {
  return unawaited.run(true, call);
}

/** What a hook threw or rejected with, in words (null, a string, an Error, anything). */
function thrownText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err === null || err === undefined) return `it rejected with ${String(err)}`;
  return typeof err === 'string' ? err : (() => {
    try {
      return JSON.stringify(err) ?? String(err);
    } catch {
      return String(err);
    }
  })();
}

/** How long a hook may run (a command is killed past it; a function is no longer waited for). */
export const DEFAULT_HOOK_TIMEOUT_MS = 5 * 60_000;

/** Hooks that end in bounded time already: commands (killed past their timeout) and functions given one here. */
const bounded = new WeakSet<object>();

export function markBounded<F extends (...a: never[]) => unknown>(f: F): F {
  bounded.add(f);
  return f;
}

/**
 * Runs a function hook, no longer waiting for it past `timeoutMs`: HOOK_FAILED, as a command past its timeout.
 * A function cannot be stopped: a hook awaiting a request that never answers would otherwise hold the run (and
 * the archive job, and close()) forever.
 */
function settledWithin<T>(hook: string, timeoutMs: number, run: () => T | Promise<T>): Promise<T> {
  return withDeadline(
    Promise.resolve().then(run),
    timeoutMs,
    () =>
      new BriError(ErrorCodes.HOOK_FAILED, `hook ${hook} did not settle within ${timeoutMs} ms: ${hook.startsWith('before') ? 'the operation is stopped, as when it fails' : 'the run goes on without it'}`, {
        hint: `The function may still be running (it cannot be stopped). Make it settle (a timeout of its own on what it waits for), or give it more time: { function, timeoutMs }.`,
        details: { hook, timeoutMs, cause: 'timeout' },
      }),
  );
}

/**
 * An onError hook that failed: the failure it was told of stays the one reported (its callers do not throw its
 * error over it), so its own is said here, as a BRI_HOOK_FAILED process warning, or the alerting path failed unseen.
 */
function sayIfOnErrorFailed(hook: string, err: unknown): void {
  if (hook === 'onError') process.emitWarning(`hook failed: onError: ${hookFailureText(err)}`, { code: 'BRI_HOOK_FAILED' });
}

/** `run`, its failure said first if the hook is onError (see sayIfOnErrorFailed), then thrown as it was. */
export async function saidIfOnError(hook: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    sayIfOnErrorFailed(hook, err);
    throw err;
  }
}

/** A function hook bounded in time, its own errors left as they are thrown (a restore's hooks). */
export function boundedFunction<F extends (...a: never[]) => unknown>(hook: string, fn: F, timeoutMs = DEFAULT_HOOK_TIMEOUT_MS): (...a: Parameters<F>) => Promise<void> {
  if (bounded.has(fn)) return fn as unknown as (...a: Parameters<F>) => Promise<void>;
  return markBounded((...args: Parameters<F>) => saidIfOnError(hook, async () => void (await settledWithin(hook, timeoutMs, () => fn(...args)))));
}

/** Every function of a hooks object bounded in time (those already bounded, commands included, kept as they are). */
export function boundedHooks<H extends object>(hooks: H | undefined): H | undefined {
  if (!hooks) return hooks;
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(hooks)) out[name] = typeof v === 'function' ? boundedFunction(name, v as (...a: never[]) => unknown) : v;
  return out as H;
}

/** The hook as a function that runs it marked as inside a hook, its failure (or its running past `timeoutMs`) HOOK_FAILED naming the hook. */
export function functionHook<F extends (...a: never[]) => unknown>(hook: string, fn: F, timeoutMs = DEFAULT_HOOK_TIMEOUT_MS): (...a: Parameters<F>) => Promise<void> {
  return markBounded(async (...args: Parameters<F>) => {
    const run: HookRun = { hook, running: true, awaited: unawaited.getStore() !== true };
    try {
      // Inside the hook the mark is cleared: a run the hook starts (a create from onError) awaits its own hooks.
      await settledWithin(hook, timeoutMs, () => insideHook.run(run, () => unawaited.run(false, () => fn(...args))));
    } catch (err) {
      sayIfOnErrorFailed(hook, err);
      if (isBriError(err) && err.code === ErrorCodes.HOOK_FAILED) throw err;
      throw new BriError(ErrorCodes.HOOK_FAILED, `hook ${hook} failed: ${thrownText(err)}`, {
        hint: `Fix the ${hook} function (it threw or rejected); the error it gave is in details.cause.`,
        details: { hook, cause: isBriError(err) ? err.code : thrownText(err) },
        cause: err,
      });
    } finally {
      // Once the run no longer waits for the hook, what the hook left behind may call in: nothing waits for it.
      run.running = false;
    }
  });
}

/**
 * Runs `fn` (and every timer and promise it creates) as no hook's code: the scheduler's runs, which a write made
 * by a hook may start, are the scheduler's own, and nothing the hook awaits waits for them.
 */
export function outsideHooks<T>(fn: () => T): T {
  return insideHook.exit(fn);
}

/**
 * An archive API call that would wait for the run a hook belongs to (the run waits for the hook), refused:
 * USAGE naming the hook, instead of a create, prune or close that never ends. Null outside hooks, and inside
 * a hook no run waits for (the refusal's reason would be false, and an alerting path could not shut down).
 */
export function insideHookError(call: string): BriError | null {
  const run = insideHook.getStore();
  if (!run?.running || !run.awaited) return null;
  const { hook } = run;
  return new BriError(ErrorCodes.USAGE, `${call} was called from inside the ${hook} hook: it would wait for the archive run that waits for the hook`, {
    hint: "Do it after the hook returns: in setImmediate(), or from a 'finished' / 'failed' event listener.",
    details: { hook, call },
  });
}

export function refuseInsideHook(call: string): void {
  const err = insideHookError(call);
  if (err) throw err;
}

/** What a failed hook said itself (a function hook's own error text, a command's failure), for a list of hook errors. */
export function hookFailureText(err: unknown): string {
  if (isBriError(err) && err.code === ErrorCodes.HOOK_FAILED && err.cause !== undefined) return thrownText(err.cause);
  return err instanceof Error ? err.message : String(err);
}
