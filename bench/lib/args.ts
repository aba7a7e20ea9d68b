/** Command-line flags of the benchmarks: `--name value` or `--name=value`, and positive numbers (`1_000` and `1,000` allowed). */

export function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

export function positive(text: string | undefined, what: string): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const n = Number(text.replace(/[_,]/g, ''));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${what} must be a positive number, got "${text}"`);
  return n;
}

export function positiveInt(text: string | undefined, what: string): number | undefined {
  const n = positive(text, what);
  if (n !== undefined && !Number.isInteger(n)) throw new Error(`${what} must be a positive integer, got "${text}"`);
  return n;
}
