/**
 * One injected failure, for a child process (`--import` after tsx): $BRI_NTH_FAULT, a JSON object
 * { "fn": "rename", "arg": "/abs/path", "code": "EIO", "nth": 2 } makes the nth call of
 * fs.promises.<fn> with an argument equal to `arg` fail with `code`, and only that call (the
 * calls before and after it run): a fault the program may recover from. io-faults.ts is the
 * other kind, a fault that stays.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';

const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');

interface NthFault {
  fn: string;
  arg: string;
  code: string;
  nth: number;
}

const spec = process.env.BRI_NTH_FAULT ? (JSON.parse(process.env.BRI_NTH_FAULT) as NthFault) : null;
if (spec) {
  const p = fs.promises as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const orig = p[spec.fn]!;
  let seen = 0;
  p[spec.fn] = async function (this: unknown, ...args: unknown[]) {
    if (args.some((a) => a === spec.arg) && ++seen === spec.nth) {
      throw Object.assign(new Error(`${spec.code}: injected failure, ${spec.fn} '${String(args[0])}'`), { code: spec.code, errno: -1, syscall: spec.fn, path: String(args[0]) });
    }
    return orig.apply(this, args);
  };
  syncBuiltinESMExports();
}
