/** An age key pair for tests: the identity in a file (mode 0600, as age-keygen writes it) and its recipient. */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';

/** The environment of a process that holds no age identity or passphrase (whatever the test runner's has). */
export const NO_AGE_ENV = { BRI_AGE_IDENTITY: '', BRI_AGE_PASSPHRASE: '' };

export async function ageKeyFile(dir: string, name: string): Promise<{ file: string; recipient: string }> {
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const file = path.join(dir, `${name}.txt`);
  await fsp.writeFile(file, `# public key: ${recipient}\n${identity}\n`, { mode: 0o600 });
  return { file, recipient };
}
