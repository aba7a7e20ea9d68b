/**
 * The `bri` program: commands, their options, and what each parses into (an options object,
 * src/cli/options.ts). Loading it loads commander and the option parsers only; a command's
 * handler, and the API under it, are loaded when the command runs.
 */
import { Command } from 'commander';
import { registerArchiveCommands } from './commands/archive.js';
import { registerDataCommands } from './commands/data.js';
import { registerRestoreCommands } from './commands/restore.js';
import type { CommandName, CommandOptions, Dispatch, Handlers, Runner } from './options.js';

type Group = 'data' | 'archive' | 'restore';

/** Each group's handlers, imported when one of its commands runs. */
const HANDLERS: Record<Group, () => Promise<{ handlers: Partial<Handlers<CommandName>> }>> = {
  data: () => import('./handlers/data.js'),
  archive: () => import('./handlers/archive.js'),
  restore: () => import('./handlers/restore.js'),
};

/** Runs a command with its handler (the real API). */
export const runHandler: Runner = async <K extends CommandName>(name: K, opts: CommandOptions[K]): Promise<number> => {
  const { handlers } = await HANDLERS[name.slice(0, name.indexOf(' ')) as Group]();
  const handler = handlers[name] as ((o: CommandOptions[K]) => Promise<number>) | undefined;
  if (!handler) throw new Error(`no handler for bri ${name}`);
  return handler(opts);
};

/**
 * The commander program. Each command's action parses its options into an options object and
 * hands it to `run` (default: the handler); `run` answers the exit code.
 */
export function createProgram(run: Runner = runHandler, opts: { json?: boolean } = {}): Command {
  const program = new Command('bri')
    .description('BRI archive & restore: archive, verify and restore BRI data directories')
    .version('0.1.0')
    .showHelpAfterError(opts.json !== true)
    .exitOverride();
  // Under --json a usage error is one JSON document on stderr, as every other error (a script parses one form).
  if (opts.json === true) {
    program.configureOutput({
      outputError: (text, write) => write(JSON.stringify({ error: { code: 'USAGE', message: text.replace(/^error: /, '').trim(), hint: 'See --help.' } }) + '\n'),
    });
  }
  const dispatch: Dispatch = async (name, opts) => {
    await run(name, opts);
  };
  registerDataCommands(program, dispatch);
  registerArchiveCommands(program, dispatch);
  registerRestoreCommands(program, dispatch);
  return program;
}
