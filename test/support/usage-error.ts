/** The USAGE refusal a parser gives, for tests of what it says. */
import { expect } from 'vitest';
import { BriError } from '../../src/errors.js';

/** Runs `f` and returns the USAGE error it throws (fails the test on anything else). */
export function usageOf(f: () => unknown): BriError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(BriError);
    expect((err as BriError).code).toBe('USAGE');
    return err as BriError;
  }
  throw new Error('expected a USAGE error, got a value');
}
