/**
 * A short flag means one thing across the whole command line: `-r` is `archive create --retention` (as it
 * shipped first; the seed promises neither), and `archive rekey --recipient` has no short flag, so a `-r`
 * carried over from one command to the other is a usage error, never taken for the other option.
 */
import type { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/main.js';
import { createProgram } from '../../src/cli/program.js';

/** Every command's options as [command, short, long]. */
function shortFlags(cmd: Command, prefix: string[] = []): Array<[string, string, string]> {
  const here = [...prefix, cmd.name()].join(' ');
  const own = cmd.options.filter((o) => o.short !== undefined).map((o): [string, string, string] => [here, o.short!, o.long ?? '']);
  return [...own, ...cmd.commands.flatMap((c) => shortFlags(c, [...prefix, cmd.name()]))];
}

describe('short flags', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('each short flag stands for one long option in every command that has it', () => {
    const meanings = new Map<string, Set<string>>();
    for (const [, short, long] of shortFlags(createProgram())) meanings.set(short, (meanings.get(short) ?? new Set()).add(long));
    const twoMeanings = [...meanings].filter(([, longs]) => longs.size > 1).map(([short, longs]) => `${short}: ${[...longs].join(', ')}`);
    expect(twoMeanings).toEqual([]);
    expect([...meanings.get('-r')!]).toEqual(['--retention']);
  });

  it('archive rekey -r is a usage error (exit 2) that runs nothing; --recipient is the spelling', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const ran: string[] = [];
    const runner = async (name: string) => (ran.push(name), 0);
    expect(await run(['archive', 'rekey', '-d', '/srv/d', '-r', 'age1xyz'], runner)).toBe(2);
    expect(ran).toEqual([]);
    expect(await run(['archive', 'rekey', '-d', '/srv/d', '--recipient', 'age1xyz'], runner)).toBe(0);
    expect(await run(['archive', 'create', '-d', '/srv/d', '-r', '30d'], runner)).toBe(0);
    expect(ran).toEqual(['archive rekey', 'archive create']);
  });
});
