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
 * A key, member or value as one safe piece of a text line: as it is when it prints as itself, else
 * JSON-quoted with its escapes (a key holding a newline split the line; one holding ESC drove the terminal).
 */
export function printable(s: string): string {
  return UNPRINTABLE.test(s) ? JSON.stringify(s) : s;
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
