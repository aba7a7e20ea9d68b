#!/usr/bin/env node
/** The `bri` program's entry and its one exit point: parsing (program.ts), then the command's exit code or its error's. */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CommanderError, type Command } from 'commander';
import { BriError, ErrorCodes, isBriError, typedIoError } from '../errors.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, exitCodeFor } from './exit-codes.js';
import type { Runner } from './options.js';
import { printError, printWarning } from './output.js';
import { outputError, stdoutFailure } from './stdio.js';
import { createProgram, runHandler } from './program.js';

export { createProgram } from './program.js';

/** Runs the CLI and returns the exit code (the caller exits): the command's, or its error's. */
export async function run(argv: string[], runner: Runner = runHandler): Promise<number> {
  let code = EXIT_OK;
  // Only an option: after `--` "--json" is an argument (a key named so), not the output format.
  const end = argv.indexOf('--');
  const json = (end === -1 ? argv : argv.slice(0, end)).includes('--json');
  const program = createProgram(async (name, opts) => (code = await runner(name, opts)), { json });
  try {
    await program.parseAsync(helpAsOption(program, argv), { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help asked for (--help) is an answer; help shown because no command was given (an empty $CMD in a script) is not.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT_OK;
      // `bri help [command]` asks for it too (commander gives it the code of help shown for want of a command).
      if (err.code === 'commander.help' && argv.slice(0, 2).includes('help')) return EXIT_OK;
      return EXIT_USAGE;
    }
    // The last line of defence: a failed system call that reached here is still said as one, with its hint.
    const said = typedIoError(err, 'bri');
    printError(said, json);
    return isBriError(said) ? exitCodeFor(said.code) : EXIT_FAILURE;
  }
}

/**
 * `bri help archive create` as `bri archive create --help`: commander's help command reads one word (it showed
 * the archive group's help), and took a word that names no command for the top-level help, exit 0.
 */
function helpAsOption(program: Command, argv: string[]): string[] {
  if (argv[0] !== 'help' || argv.length < 2) return argv;
  const words = argv.slice(1).filter((w) => !w.startsWith('-'));
  let at: Command = program;
  for (const word of words) {
    const sub = at.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub === undefined) throw new BriError(ErrorCodes.USAGE, `unknown command '${[...words.slice(0, words.indexOf(word)), word].join(' ')}'`, { hint: `\`bri ${at === program ? '' : `${at.name()} `}--help\` lists the commands.` });
    at = sub;
  }
  return [...words, '--help'];
}

function isMain(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * What became of the output: a reader that went away early (`bri data dump | head`: EPIPE) is no
 * failure, and the command still runs to its end, so that its exit code (a FAILED verify) and its
 * cleanup (the store closed, its lock released) are what they would be. Any other failure to write
 * it (a full disk behind `> file`) is the command's failure, said on stderr.
 */
function watchOutput(): () => Promise<unknown> {
  let failed: unknown;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && failed === undefined) failed = err;
  });
  // With stderr gone there is nowhere left to say anything: the exit code still says it.
  process.stderr.on('error', () => undefined);
  // Written out first: a write's failure comes after it returned (its callback, then the 'error' event).
  const gone = (err: NodeJS.ErrnoException | null | undefined) => (err && err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED' ? err : undefined);
  return () => new Promise((resolve) => process.stdout.write('', (err) => setImmediate(() => resolve(failed ?? gone(err)))));
}

/**
 * Process warnings in the CLI's own form: a BRI_* one (a failed onError hook) as every warning the CLI says (under
 * --json one JSON line, so that stderr stays JSON); Node's own as Node says them.
 */
function sayProcessWarnings(json: boolean): void {
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    if (w.code?.startsWith('BRI_')) printWarning(w.message, json, { code: w.code });
    else process.stderr.write(`(node:${process.pid}) ${w.code ? `[${w.code}] ` : ''}${w.name}: ${w.message}\n`);
  });
}

if (isMain()) {
  sayProcessWarnings(process.argv.includes('--json'));
  const outputFailure = watchOutput();
  const code = await run(process.argv.slice(2));
  // A file behind stdout is written by stdio.ts, which knows how much got there; a pipe by Node's stream.
  const failed = stdoutFailure() ?? { error: await outputFailure(), written: undefined };
  if (failed.error !== undefined && code === EXIT_OK) {
    const said = outputError(failed.error, failed.written);
    printError(said, process.argv.includes('--json'));
    process.exitCode = exitCodeFor(said.code);
  } else process.exitCode = code;
}
