/**
 * A property test's runs end before its test's timeout. A property that fails shrinks its counterexample,
 * one run after another: a heavy property (databases opened, archived, restored per run) can shrink past
 * the timeout, and the test then reports only "timed out", without the failure or the input. Stopped
 * before the timeout, fast-check reports the failure with the input shrunk so far; a run that simply
 * did not finish its runs in time is a failure too (markInterruptAsFailure), never a pass with fewer runs.
 */
export function endsWithin(testTimeoutMs: number): { interruptAfterTimeLimit: number; markInterruptAsFailure: true } {
  // (Room for the run under way when the limit passes, and the report.)
  return { interruptAfterTimeLimit: Math.max(testTimeoutMs - 30_000, Math.floor(testTimeoutMs * 0.8)), markInterruptAsFailure: true };
}
