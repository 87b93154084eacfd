/**
 * The member report as PDF: the same HTML printed by headless Chromium (Debian's `chromium`, driven
 * by playwright-core, both optional at run time). Playwright's own browser download is never used.
 *
 * The page is printed with JavaScript off and every network request refused, so even a string the
 * escaping missed could not run or fetch anything. A renderer launches one browser and prints many
 * pages (the schedule prints every member's report with one).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserFacingError } from '../../common/errors.js';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Flags for a headless print on a server: no sandbox as root, no calls home. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export class PdfUnavailableError extends UserFacingError {
  override readonly name = 'PdfUnavailableError';
}

export interface PdfRenderer {
  render(html: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Why a PDF cannot be made here (one line), or undefined when it can. */
export async function pdfUnavailable(chromiumPath = DEFAULT_CHROMIUM): Promise<string | undefined> {
  if (!existsSync(chromiumPath))
    return `PDF reports need Chromium at ${chromiumPath}: install Debian's chromium (apt-get install chromium) or set --chromium-path`;
  try {
    await import('playwright-core');
  } catch {
    return 'PDF reports need the optional package playwright-core: npm install playwright-core';
  }
  return undefined;
}

export async function openPdfRenderer(chromiumPath = DEFAULT_CHROMIUM): Promise<PdfRenderer> {
  const why = await pdfUnavailable(chromiumPath);
  if (why) throw new PdfUnavailableError(why);
  const { chromium } = await import('playwright-core');
  // A HOME of its own: Chromium writes its profile and crash dumps there, not in central's.
  const home = mkdtempSync(join(tmpdir(), 'cyberalarm-pdf-'));
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: CHROMIUM_ARGS,
    env: { ...process.env, HOME: home },
    timeout: 60_000,
  });
  return {
    async render(html) {
      const context = await browser.newContext({ javaScriptEnabled: false, offline: true });
      try {
        await context.route('**/*', (route) => route.abort());
        const page = await context.newPage();
        await page.setContent(html, { waitUntil: 'load', timeout: 30_000 });
        const pdf = await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
        return new Uint8Array(pdf.buffer, pdf.byteOffset, pdf.byteLength);
      } finally {
        await context.close();
      }
    },
    async close() {
      await browser.close().catch(() => undefined);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** One PDF with a browser of its own (the CLI). */
export async function renderPdf(html: string, chromiumPath = DEFAULT_CHROMIUM): Promise<Uint8Array> {
  const renderer = await openPdfRenderer(chromiumPath);
  try {
    return await renderer.render(html);
  } finally {
    await renderer.close();
  }
}
