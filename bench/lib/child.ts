/**
 * The child side of runNodeChild(): a benchmark child prints exactly one result
 * line, `@@BENCH_RESULT@@ <json>`, on stdout, with its own peak RSS so that the
 * parent has a figure even without GNU time.
 */
export const RESULT_PREFIX = '@@BENCH_RESULT@@ ';

/** Prints the result line; adds `maxRssKb` from process.resourceUsage() (KiB on Linux). */
export function reportResult(result: Record<string, unknown>): void {
  const maxRssKb = process.resourceUsage().maxRSS;
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify({ ...result, maxRssKb })}\n`);
}

/** `--name value` flags of a child's argv, as a map. */
export function childArgs(argv: readonly string[] = process.argv.slice(2)): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1));
    else out.set(a.slice(2), argv[i + 1] ?? '');
    if (eq < 0) i++;
  }
  return out;
}

/** A required flag, as a string. */
export function requireArg(args: Map<string, string>, name: string): string {
  const v = args.get(name);
  if (v === undefined || v === '') throw new Error(`missing --${name}`);
  return v;
}

/** Runs a child's main; prints the error and exits 1 on failure. */
export function runChildMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
