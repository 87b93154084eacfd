/**
 * The one-time setup code: proof of presence at the box for the first admin password.
 *
 * Without it, whoever on the LAN reached an unclaimed box first became its admin (and could turn
 * pseudonymisation off). The code is made from crypto random on first start while no password is
 * set, kept in `<dataDir>/setup-code` (0600) until the password is set, and shown only where someone
 * at the box sees it: the agent's first log lines, the box's console screen above the login prompt
 * (`consoleNotice`, config `consoleIssueFile`) and the status page viewed from the box itself (loopback). Never in the QR code or anywhere on the public page: the QR is shown to the
 * whole LAN, and it exists to be photographed by an officer.
 *
 * 10 characters from a 31-letter alphabet without look-alikes (no 0/O, 1/I/L): about 49 bits, far
 * beyond online guessing, and easy to type from a screen.
 */
import { randomInt, timingSafeEqual } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-file.js';

export const SETUP_CODE_FILE = 'setup-code';
export const SETUP_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const SETUP_CODE_LENGTH = 10;

/** The code in `<dataDir>/setup-code`, made and written (0600) when there is none yet. */
export function ensureSetupCode(dataDir: string): string {
  const path = join(dataDir, SETUP_CODE_FILE);
  try {
    const existing = normaliseSetupCode(readFileSync(path, 'utf8'));
    if (existing.length === SETUP_CODE_LENGTH) return existing;
  } catch {
    /* none yet */
  }
  let code = '';
  for (let i = 0; i < SETUP_CODE_LENGTH; i++)
    code += SETUP_CODE_ALPHABET[randomInt(SETUP_CODE_ALPHABET.length)];
  writeFileAtomic(path, `${code}\n`, 0o600);
  return code;
}

/** Removes the code once the password is set: it must not work twice. */
export function removeSetupCode(dataDir: string): void {
  rmSync(join(dataDir, SETUP_CODE_FILE), { force: true });
}

/** As typed: case, spaces and dashes do not matter. */
export function normaliseSetupCode(typed: string): string {
  return typed.toUpperCase().replace(/[\s-]/g, '');
}

export function setupCodeMatches(expected: string, typed: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(normaliseSetupCode(typed));
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Groups of five for reading off a screen: `ABCDE-FGHJK`. */
export function formatSetupCode(code: string): string {
  return code.replace(/(.{5})(?=.)/g, '$1-');
}

/**
 * The text for the box's own console: getty shows an issue file above its login prompt (agetty reads
 * `/run/issue.d/*.issue`), so whoever stands at the box sees the status page's address and, until the
 * admin password is set, the setup code. `\4` is agetty's escape for the box's IPv4 address. Nobody
 * on the LAN can read it: it is on the screen plugged into the box and in a root-only file.
 */
export function consoleNotice(statusPort: number, setupCode: string | undefined): string {
  const lines = ['CyberAlarm appliance', `Status page: http://\\4:${statusPort}/`];
  if (setupCode !== undefined)
    lines.push(
      `First-time setup code: ${formatSetupCode(setupCode)}`,
      'Type it on the status page to set the admin password.',
    );
  return `${lines.join('\n')}\n\n`;
}
