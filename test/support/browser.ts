/**
 * A real browser for the end-to-end tests: Debian's Chromium (`/usr/bin/chromium`, installed by
 * scripts/setup.sh) driven by playwright-core. Playwright's own browser download does not work on our
 * build machines, so we never call it.
 *
 * TLS: central's portal is served with a certificate from central's own dev CA. Rather than turning
 * certificate checks off (`ignoreHTTPSErrors` is per context, not per origin, so it would also hide a
 * wrong certificate anywhere else the test goes), the browser trusts exactly that CA: Chromium on
 * Linux reads trust anchors from the NSS database under `$HOME/.pki/nssdb`, so each browser gets a
 * fresh HOME whose database holds only the CA files passed in (`certutil`, from libnss3-tools,
 * installed by setup.sh). Hostname and validity checks stay on, as an officer's phone would have them.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import jsQRModule from 'jsqr';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { PNG } from 'pngjs';

const execFileAsync = promisify(execFile);
// jsqr is CommonJS whose typings declare an ES default export: under NodeNext the default import is the
// module object, whose `default` is the function (at run time both are the function).
const jsQR = (jsQRModule as unknown as { default: typeof jsQRModule.default }).default;

export const CHROMIUM = '/usr/bin/chromium';

/** The flags this machine's Chromium needs as root on a closed network (see docs of the build kind):
 * without the background-networking ones it keeps trying to reach Google and gets refused. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why the browser tests cannot run here, or undefined when they can. Under CI the caller must fail
 * rather than skip: setup.sh installs both. */
export function browserUnavailable(): string | undefined {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (scripts/setup.sh installs Debian's chromium)`;
  return undefined;
}

export interface TestBrowser {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** PEM CA certificates the browser trusts for HTTPS (e.g. `<central data>/ca/ca.crt`). */
  readonly trustCaFiles?: readonly string[];
  readonly viewport?: { width: number; height: number };
}

/** Launches Chromium with a fresh profile and a fresh HOME (so a fresh NSS database). */
export async function launchBrowser(options: LaunchOptions = {}): Promise<TestBrowser> {
  const why = browserUnavailable();
  if (why) throw new Error(why);
  const root = mkdtempSync(join(tmpdir(), 'ca-browser-'));
  const home = join(root, 'home');
  const profile = join(root, 'profile');
  mkdirSync(profile, { recursive: true });
  const cas = options.trustCaFiles ?? [];
  if (cas.length > 0) {
    const nssDb = join(home, '.pki', 'nssdb');
    mkdirSync(nssDb, { recursive: true });
    await certutil(['-N', '-d', `sql:${nssDb}`, '--empty-password']);
    for (const [i, file] of cas.entries()) {
      // "C,," = a trusted CA for TLS servers only (not e-mail, not code signing).
      await certutil(['-A', '-d', `sql:${nssDb}`, '-n', `cyberalarm-test-ca-${i}`, '-t', 'C,,', '-i', file]);
    }
  }
  // A persistent context is how Playwright takes a user-data dir (it refuses --user-data-dir in args).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
    env: { ...process.env, HOME: home },
    ignoreHTTPSErrors: false,
    viewport: options.viewport ?? { width: 1100, height: 1400 },
    timeout: 60_000,
  });
  context.setDefaultTimeout(15_000);
  return {
    context,
    newPage: () => context.newPage(),
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function certutil(args: readonly string[]): Promise<void> {
  try {
    await execFileAsync('certutil', [...args]);
  } catch (err) {
    throw new Error(
      `certutil ${args.join(' ')} failed (scripts/setup.sh installs libnss3-tools): ${String(err)}`,
    );
  }
}

/** The text of the first QR code found in a PNG image, or undefined. */
export function decodeQrFromPng(png: Uint8Array): string | undefined {
  const image = PNG.sync.read(Buffer.from(png));
  const pixels = new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  const code = jsQR(pixels, image.width, image.height, { inversionAttempts: 'attemptBoth' });
  return code?.data;
}

/** Saves a screenshot of the page, never throwing (used in failure paths); returns the file. */
export async function saveScreenshot(page: Page, dir: string, name: string): Promise<string | undefined> {
  try {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name.replace(/[^a-zA-Z0-9._-]+/g, '-')}.png`);
    writeFileSync(file, await page.screenshot({ fullPage: true }));
    return file;
  } catch {
    return undefined;
  }
}
