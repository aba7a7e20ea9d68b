#!/usr/bin/env node
/** The `bri` program's entry and its one exit point: parsing (program.ts), then the command's exit code or its error's. */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import { isBriError, typedIoError } from '../errors.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, exitCodeFor } from './exit-codes.js';
import type { Runner } from './options.js';
import { printError } from './output.js';
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
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help asked for (--help) is an answer; help shown because no command was given (an empty $CMD in a script) is not.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT_OK;
      return EXIT_USAGE;
    }
    // The last line of defence: a failed system call that reached here is still said as one, with its hint.
    const said = typedIoError(err, 'bri');
    printError(said, json);
    return isBriError(said) ? exitCodeFor(said.code) : EXIT_FAILURE;
  }
}

function isMain(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  // `bri data dump | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  process.exitCode = await run(process.argv.slice(2));
}
