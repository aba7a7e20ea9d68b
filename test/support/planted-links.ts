/**
 * Links the application's user plants at the names root's commands write (see app-user.ts), and the
 * root-only file they point at, which no write of bri may reach.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { APP_GID, APP_UID, isRoot, ownerOf } from './app-user.js';

/** A private file (root's when run as root) in `dir` that no write of bri may reach. */
export function privateFile(dir: string): string {
  const file = path.join(dir, 'root-only');
  fs.writeFileSync(file, 'ROOT ONLY', { mode: 0o600 });
  return file;
}

/** The private file as privateFile made it: same bytes, owner and mode. */
export function expectUntouched(file: string): void {
  expect(fs.readFileSync(file, 'utf8')).toBe('ROOT ONLY');
  expect(ownerOf(file)).toEqual({ uid: process.geteuid!(), gid: process.getegid!(), mode: 0o600 });
}

/** A link at `name` to `victim`, owned (as root) by the application's user, as that user would plant it. */
export function plantLink(name: string, victim: string): void {
  fs.rmSync(name, { force: true });
  fs.symlinkSync(victim, name);
  if (isRoot) fs.lchownSync(name, APP_UID, APP_GID);
}
