/** BRI WAL lines written by hand (`<time>|<pointer>|<entry>`), as BRI itself writes them: times may go back. */
import * as fs from 'node:fs';
import { encodeOperation, type Operation } from '../../src/format/operation.js';
import { computePointer } from '../../src/format/pointer.js';

/** Appends lines stamped `t0 + at` to a segment, chained from `prev`; returns the last pointer. */
export function appendLinesAt(t0: number, file: string, prev: string, lines: Array<[number, Operation]>): string {
  let text = '';
  for (const [at, op] of lines) {
    const entry = encodeOperation(op);
    prev = computePointer(prev, entry);
    text += `${t0 + at}|${prev}|${entry}\n`;
  }
  fs.appendFileSync(file, text);
  return prev;
}

export const setOp = (target: string, v: string): Operation => ({ action: 'SET', target, value: JSON.stringify({ v }) });
