/** Printing for the CLI: JSON for machines, aligned text for people, errors without stack traces. */
import { BriError, isBriError } from '../errors.js';
import { writeStderr, writeStdout } from './stdio.js';

export interface OutputOptions {
  json?: boolean;
  quiet?: boolean;
}

export function printJson(value: unknown): void {
  writeStdout(JSON.stringify(value, null, 2) + '\n');
}

export function printLine(text: string, opts: OutputOptions = {}): void {
  if (!opts.quiet) writeStdout(text + '\n');
}

/**
 * Something said on stderr as it happens that is no error (a source passed over): a line of text, or under
 * --json one JSON document on its own line, {"warning": {message, ...fields}}, so that stderr stays JSON.
 */
export function printWarning(text: string, json: boolean, fields: Record<string, unknown> = {}): void {
  writeStderr(json ? JSON.stringify({ warning: { message: text, ...fields } }) + '\n' : text + '\n');
}

/** A plain aligned table. */
/** Control characters, line and paragraph separators, lone surrogates: what would break a line or drive the terminal. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Characters that print as nothing or pass for others: format characters (zero-width space, bidi overrides
 * that make PRICE_<RLO>DSU_001 show as PRICE_100_USD), spaces other than ' ' (a no-break space). The zero-width
 * joiner is left: it joins emoji.
 */
const INVISIBLE = /(?!\u200d)\p{Cf}|(?! )\p{Zs}/u;
const INVISIBLE_ALL = new RegExp(INVISIBLE.source, 'gu');
const INVISIBLE_OR_MARK_ALL = new RegExp(`${INVISIBLE.source}|\\p{M}`, 'gu');

/**
 * What prints as itself but reads as something else: a leading or trailing space (`A ` printed as `A`), and a
 * leading `"` (the key `"x"` printed as the quoted form of the key `x`).
 */
const MISREAD = /^[ "]| $/;

/**
 * A key, member or value as one safe piece of a text line: as it is when it prints as itself, else
 * JSON-quoted with its escapes (a key holding a newline split the line; one holding ESC drove the terminal;
 * two keys told apart only by an invisible character printed alike; the empty key printed as nothing).
 */
export function printable(s: string): string {
  return MISREAD.test(s) ? quoted(s) : printableValue(s);
}

/** A document's stored JSON text: `"v"` is how a string document reads, not a quoted name, so only what hides or splits is quoted. */
export function printableValue(s: string): string {
  if (s !== '' && !UNPRINTABLE.test(s) && !INVISIBLE.test(s) && s === s.normalize('NFC')) return s;
  return quoted(s);
}

function quoted(s: string): string {
  // JSON escapes controls and lone surrogates; what JSON leaves as it is but prints as nothing, or as another
  // key prints (a decomposed é beside the composed one), is escaped too, so that two keys never print alike.
  const hidden = s === s.normalize('NFC') ? INVISIBLE_ALL : INVISIBLE_OR_MARK_ALL;
  return JSON.stringify(s).replace(hidden, (c) => Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''));
}

/**
 * A set's members as text, `{a, b}`: a member holding what separates them (`,`, a brace) is quoted too, or
 * the set {"a, b"} printed as {a, b}, as the set of a and b does.
 */
export function printableMembers(members: readonly string[]): string {
  const one = (m: string) => {
    const p = printable(m);
    return p === m && /[,{}]/.test(m) ? JSON.stringify(m) : p;
  };
  return `{${members.map(one).join(', ')}}`;
}

export function formatTable(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function formatTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : new Date(ms).toISOString();
}

/** Writes an error to stderr: code, message, hint; JSON under --json. Never a stack for a BriError. */
export function printError(err: unknown, json: boolean): void {
  if (json) {
    const body = isBriError(err) ? err.toJSON() : { code: 'INTERNAL', message: String((err as Error)?.message ?? err) };
    writeStderr(JSON.stringify({ error: body }) + '\n');
    return;
  }
  if (err instanceof BriError) {
    writeStderr(`error [${err.code}]: ${err.message}\n`);
    if (err.hint) writeStderr(`hint: ${err.hint}\n`);
    return;
  }
  writeStderr(`internal error: ${(err as Error)?.stack ?? String(err)}\n`);
}
