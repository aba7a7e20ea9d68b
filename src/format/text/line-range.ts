/**
 * How a range of WAL lines reads: the lines after `after` through `through` (an archive's walLines start
 * and end, a listing's first and last). One that holds a state and no line has through === after, which
 * `${after + 1}..${through}` printed as "lines 2..1": said as the state at that line instead, and a
 * range never printed inverted.
 */

/** As a phrase: `lines 2..5`, `the state at line 1`, or `no lines`. */
export function linesAfter(after: number, through: number): string {
  if (through > after) return `lines ${after + 1}..${through}`;
  return through === after ? `the state at line ${after}` : 'no lines';
}

/** As a table cell or after a "lines" label: `2..5`, `none (the state at line 1)`, or `none`. */
export function lineSpan(after: number, through: number): string {
  if (through > after) return `${after + 1}..${through}`;
  return through === after ? `none (the state at line ${after})` : 'none';
}
