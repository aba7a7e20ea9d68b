/**
 * Where lines read after the archives (shipped WAL, the data directory's own) join the chain the
 * archives end on: a scan takes them only where they continue it.
 */
import type { EncryptionKey } from '../../format/encryption.js';
import { parseWalLine } from '../../format/wal-line.js';
import { ChainVerifier } from '../../store/wal/chain.js';
import { lineOperation } from '../../store/wal/wal-entry.js';

/** The pointer a line carries (its text is checked when it is applied). */
export function pointerOf(text: string): string {
  const first = text.indexOf('|');
  return text.slice(first + 1, text.indexOf('|', first + 1));
}

/** Whether `text` is the line that follows the one whose pointer is `prev` (checked as every chain is). */
export function continuesChain(text: string, prev: string, key: EncryptionKey | undefined): boolean {
  const link = new ChainVerifier(prev, key);
  const linked = link.push({ lineNo: 0, segment: '', segmentLine: 0, text });
  // Encrypted, and no key: neither the link nor the line can be read; the key's error, as applying the line gives it.
  if (linked && !link.state.pointersChecked) lineOperation(parseWalLine(text)!, key);
  return linked;
}

/**
 * Whether the data directory's line `line` joins the chain where the scan stands (`prev`). Its first line
 * on disk, right after the last archive, may link from '' instead: a restore that restored no WAL line (an
 * archive of the state alone) left wal/ empty there, and BRI chains the next line from '' (the rule archive
 * create applies: create/chain-start.ts pointerAfterTip). A '' link after lines wal/ holds stays a break.
 */
export function joinsChain(text: string, at: { prev: string; line: number; startsAt: number; archivedTo: number | undefined }, key: EncryptionKey | undefined): boolean {
  if (continuesChain(text, at.prev, key)) return true;
  const firstAfterArchives = at.line === at.startsAt && at.line - 1 === at.archivedTo && at.prev !== '';
  return firstAfterArchives && continuesChain(text, '', key);
}
