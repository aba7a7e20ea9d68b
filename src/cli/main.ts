#!/usr/bin/env node
/** The `bri` program: parsing and the one exit point. Commands call the API. */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { isBriError, typedIoError } from '../errors.js';
import { registerArchiveCommands } from './commands/archive.js';
import { registerDataCommands } from './commands/data.js';
import { registerRestoreCommands } from './commands/restore.js';
import { EXIT_USAGE, exitCodeFor, EXIT_FAILURE } from './exit-codes.js';
import { printError } from './output.js';
import { closeAll } from './common.js';

export function createProgram(): Command {
  const program = new Command('bri')
    .description('BRI archive & restore: archive, verify and restore BRI data directories')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerDataCommands(program);
  registerArchiveCommands(program);
  registerRestoreCommands(program);
  return program;
}

/** Runs the CLI and returns the exit code (the caller exits). */
export async function run(argv: string[]): Promise<number> {
  const program = createProgram();
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return EXIT_USAGE;
    }
    // The last line of defence: a failed system call that reached here is still said as one, with its hint.
    const said = typedIoError(err, 'bri');
    printError(said, json);
    return isBriError(said) ? exitCodeFor(said.code) : EXIT_FAILURE;
  } finally {
    await closeAll();
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
