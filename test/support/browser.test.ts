/**
 * The browser support on its own, so a failure of the enrolment test points at the product and not
 * at Chromium, NSS or the QR decoding: a page over HTTPS signed by a throwaway CA loads only when that
 * CA is trusted, and a QR code drawn by the page decodes from a screenshot.
 */
// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's Locator.innerText is the rendered text a person sees (script and hidden elements excluded), which is what these tests assert on; the rule is about DOM nodes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import QRCode from 'qrcode';
import t from 'tap';
import { createCa, issueServerCertificate } from '../../provisioning/ca.js';
import { browserUnavailable, decodeQrFromPng, launchBrowser } from './browser.js';

const unavailable = browserUnavailable();
if (unavailable) {
  if (process.env.CI === 'true') t.fail(`the browser tests cannot run: ${unavailable}`);
  else t.plan(0, `the browser tests need Chromium: ${unavailable}`);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'ca-browser-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ca = await createCa();
  const server = await issueServerCertificate(ca, { hostnames: ['localhost'], ips: ['127.0.0.1'] });
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, ca.certPem);
  const text = 'cyberalarm-enrol:1?d=ca-abcdefghijklmnopqrst&p=ABCD-EFGH&f=00&u=https%3A%2F%2Flocalhost';
  const qrDataUrl = await QRCode.toDataURL(text, { errorCorrectionLevel: 'M', margin: 4, scale: 4 });
  const https = createServer({ cert: server.certPem, key: server.keyPem }, (_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><h1>hello</h1><p>some text</p><img alt="qr" src="${qrDataUrl}">`);
  });
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => https.close(() => resolve())));
  const url = `https://localhost:${(https.address() as AddressInfo).port}/`;

  t.test('trusts the CA it is given, and only that', async (t) => {
    const trusting = await launchBrowser({ trustCaFiles: [caFile] });
    t.teardown(() => trusting.close());
    const page = await trusting.newPage();
    await page.goto(url);
    t.equal(await page.locator('h1').innerText(), 'hello');
    const photo = await page.screenshot({ fullPage: true });
    t.equal(decodeQrFromPng(photo), text, 'the QR code decodes from a screenshot of the page');

    const plain = await launchBrowser();
    t.teardown(() => plain.close());
    await t.rejects(
      (await plain.newPage()).goto(url),
      /ERR_CERT_AUTHORITY_INVALID/,
      'without the CA: refused',
    );
  });

  t.test('decodeQrFromPng finds nothing in a picture without a code', async (t) => {
    const trusting = await launchBrowser({ trustCaFiles: [caFile] });
    t.teardown(() => trusting.close());
    const page = await trusting.newPage();
    await page.setContent('<p>no code here</p>');
    t.equal(decodeQrFromPng(await page.screenshot()), undefined);
  });
}
