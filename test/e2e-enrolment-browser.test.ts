/**
 * QR enrolment end to end in a real browser (issue 6): Debian's Chromium driven by playwright-core,
 * central and fresh agents as separate processes on loopback.
 *
 * The officer's path is the one a phone takes: the test photographs (screenshots) the appliance's
 * status page, decodes the QR code from the picture, signs in to the portal with password + TOTP,
 * uploads the same picture to the enrolment page's scanner, checks the fingerprint, creates the
 * member on the spot and approves. Then both pages must show the device enrolled and uploading.
 * After it: a used code, another force's officer, revocation, an expired code and code guessing.
 *
 * The subtests share one central and run in order: every failed pairing-code lookup from 127.0.0.1
 * counts towards the portal's per-address limit (10 per 15 minutes), so the guessing test is last.
 * An officer signs in once per run: the portal refuses a TOTP code that was already used.
 *
 * Screenshots of the status page and the enrolment pages are written to .tap/screenshots/latest/
 * (to docs/screenshots/, linked from the README, with CYBERALARM_UPDATE_SCREENSHOTS=1); on failure,
 * a screenshot of every open page goes to .tap/screenshots/.
 */
// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's Locator.innerText is the rendered text a person sees (script and hidden elements excluded), which is what these tests assert on; the rule is about DOM nodes.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as mqttConnect } from 'mqtt';
import { TOTP, URI } from 'otpauth';
import type { Page, Response } from 'playwright-core';
import t from 'tap';
import { replay } from '../appliance/replay/replay.js';
import { openDatabase } from '../central/store/db.js';
import { type EnrolmentQr, parseEnrolmentQr } from '../provisioning/enrolment.js';
import {
  type AgentProc,
  type AgentStatusView,
  CENTRAL_CLI,
  type CentralProc,
  ROOT,
  runCli,
  startCentralProcess,
  startEnrollingAgentProcess,
  waitFor,
} from '../tools/demo/harness.js';
import { generateTraffic } from '../tools/demo/traffic.js';
import { browserUnavailable, decodeQrFromPng, launchBrowser, saveScreenshot } from './support/browser.js';

/** The hooks the two pages promise (appliance/status/page.ts, central/portal/pages.ts). */
const SEL = {
  agent: {
    state: '[data-testid="enrolment-state"]',
    qr: '[data-testid="enrolment-qr"]',
    pairingCode: '[data-testid="pairing-code"]',
    uplink: '[data-testid="uplink-state"]',
    lastUpload: '[data-testid="last-upload"]',
  },
  portal: {
    username: '#username',
    password: '#password',
    totp: '#totp',
    qrFile: '#qr-file',
    pairingCode: '#pairing-code',
    lookUp: '#lookup-form button[type="submit"]',
    deviceId: '#device-id',
    fingerprint: '#fingerprint',
    memberName: '#member-name',
    sector: '#sector',
    contact: '#contact',
    approve: '#approve',
    enrolled: '#enrolled',
    error: '#error',
    deviceRow: (id: string) => `tr[data-device="${id}"]`,
    rowState: '.state',
    revoke: '.revoke',
  },
} as const;

// The README's screenshots are refreshed only on request, so a test run leaves the tree clean.
const SCREENSHOTS =
  process.env.CYBERALARM_UPDATE_SCREENSHOTS === '1'
    ? join(ROOT, 'docs', 'screenshots')
    : join(ROOT, '.tap', 'screenshots', 'latest');
const FAILURES = join(ROOT, '.tap', 'screenshots');

const unavailable = browserUnavailable();
if (unavailable) {
  // setup.sh installs Chromium; under CI a missing browser is a failure, never a silent skip.
  if (process.env.CI === 'true') t.fail(`the browser tests cannot run: ${unavailable}`);
  else t.plan(0, `the browser tests need Chromium: ${unavailable}`);
} else {
  await main();
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ca-e2e-enrol-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  const centralDir = join(dir, 'central');
  let central = await startCentralProcess(centralDir);
  t.teardown(() => central.kill());
  const caFile = join(centralDir, 'ca', 'ca.crt');
  const portalUrl = `https://localhost:${central.portalPort}`;
  const enrolling = (name: string) =>
    startEnrollingAgentProcess(join(dir, name), { enrolmentUrl: portalUrl, centralCaFile: caFile });
  // SIGKILL: an agent whose status page Chromium has visited takes ~100 s to exit on SIGTERM (its
  // HTTP server waits for the browser's idle keep-alive sockets; reported to appliance/status).
  const stop = (agent: AgentProc) => agent.kill('SIGKILL');

  const browser = await launchBrowser({ trustCaFiles: [caFile] });
  t.teardown(() => browser.close());
  t.afterEach(async (t) => {
    if (t.passing()) return;
    t.comment(`central's log (last 4000 characters):\n${central.stderr().slice(-4000)}`);
    for (const [i, page] of browser.context.pages().entries())
      await saveScreenshot(page, FAILURES, `${t.name}-${i}`);
  });

  const officerA = await addOfficer(central, 'officer.north', 'f-north');
  const officerB = await addOfficer(central, 'officer.south', 'f-south');
  /** Officer A's signed-in portal tab (the browser context holds the session cookie). */
  let portal: Page | undefined;
  const portalPage = () => {
    if (!portal) throw new Error('officer A is not signed in (an earlier subtest failed)');
    return portal;
  };
  /** The device enrolled in the first subtest, kept running for the later ones. */
  let enrolledAgent: { agent: AgentProc; qr: EnrolmentQr; statusPage: Page; photo: Uint8Array } | undefined;

  t.test('officers sign in with password and TOTP; a wrong code is refused', async (t) => {
    const page = await browser.newPage();
    await page.goto(`${portalUrl}/portal/enrol`);
    t.match(page.url(), /\/portal\/sign-in$/, 'the enrolment page needs a session');
    const wrong = await submitSignIn(page, officerA, wrongTotp(officerA.totp));
    t.equal(wrong?.status(), 401);
    t.match(await page.locator(SEL.portal.error).innerText(), /wrong/i);
    const right = await submitSignIn(page, officerA, officerA.totp.generate());
    t.equal(right?.status(), 200);
    t.match(page.url(), /\/portal\/enrol$/);
    await page.locator(SEL.portal.qrFile).waitFor({ state: 'attached' });
    portal = page;
  });

  t.test('a fresh agent is enrolled by QR in the browser and uploads', async (t) => {
    const agent = await enrolling('agent1');
    t.teardown(() => (enrolledAgent ? undefined : stop(agent)));
    const pending = await waitForEnrolment(agent, 'pending');
    const qrText = pending.enrolment?.qr ?? '';
    const qr = parseEnrolmentQr(qrText);
    if ('error' in qr) throw new Error(`enrolment.qr does not parse: ${qr.error}: ${qrText}`);
    t.equal(qr.centralUrl, portalUrl, 'the QR code names the enrolment URL the agent was given');

    // Events that arrive before enrolment wait in the outbox; none may be lost.
    await replay(generateTraffic(200, { seed: 61 }), { to: `udp://127.0.0.1:${agent.udpPort}`, rate: 2000 });

    const statusPage = await browser.newPage();
    await statusPage.goto(`http://127.0.0.1:${agent.statusPort}/`);
    await statusPage.locator(SEL.agent.qr).waitFor();
    t.match(await statusPage.locator(SEL.agent.state).innerText(), /pending|not enrolled/i);
    writeScreenshot('status-page-pending.png', await statusPage.screenshot({ fullPage: true }));
    // What a phone's camera would see: the screen as shown (the QR code is near the top).
    const photo = await statusPage.screenshot();
    t.equal(decodeQrFromPng(photo), qrText, 'the QR decoded from a screenshot is /api/status enrolment.qr');
    const pageText = await statusPage.locator('body').innerText();
    for (const shown of [qr.deviceId, qr.pairingCode, qr.fingerprint])
      t.ok(pageText.includes(shown), `the page shows ${shown} as text`);

    const page = portalPage();
    await page.goto(`${portalUrl}/portal/enrol`);
    writeScreenshot('portal-enrol.png', await page.screenshot({ fullPage: true }));
    // The scanner decodes the picture in the browser (jsQR) and posts the text it read.
    const [lookup] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/portal/enrol/lookup')),
      page.locator(SEL.portal.qrFile).setInputFiles({
        name: 'appliance.png',
        mimeType: 'image/png',
        buffer: Buffer.from(photo),
      }),
    ]);
    t.equal(lookup.status(), 200, 'the scanned code finds the request');
    await page.locator(SEL.portal.fingerprint).waitFor();
    t.equal((await page.locator(SEL.portal.deviceId).innerText()).trim(), qr.deviceId);
    t.equal(
      (await page.locator(SEL.portal.fingerprint).innerText()).trim(),
      qr.fingerprint,
      'the portal shows the fingerprint the appliance shows',
    );
    await page.locator(SEL.portal.memberName).fill('Riverside Dental Practice');
    await page.locator(SEL.portal.sector).fill('health');
    await page.locator(SEL.portal.contact).fill('it@riverside.example');
    writeScreenshot('portal-approve.png', await page.screenshot({ fullPage: true }));
    const approved = await submit(page, page.locator(SEL.portal.approve).click());
    t.equal(approved?.status(), 200);
    t.match(await page.locator(SEL.portal.enrolled).innerText(), /enrolled/i);

    const enrolled = await waitForEnrolment(agent, 'enrolled', (s) => s.uplink.state === 'connected');
    t.equal(enrolled.enrolment?.qr, undefined, 'no QR once enrolled');
    const storedBefore = (await central.stats()).stored;
    await replay(generateTraffic(300, { seed: 62 }), { to: `udp://127.0.0.1:${agent.udpPort}`, rate: 2000 });
    await waitFor(
      'central to store what the agent sends',
      async () => ((await central.stats()).stored > storedBefore ? true : undefined),
      30_000,
    );
    const drained = await waitFor(
      'the outbox to drain, the pre-enrolment events included',
      async () => {
        const s = await agent.status();
        return s.outbox.depthEvents === 0 && s.outbox.ackedEvents >= s.outbox.acceptedEvents ? s : undefined;
      },
      30_000,
    );
    t.equal(drained.outbox.writeErrors, 0);
    t.ok(drained.outbox.acceptedEvents > 0, 'events were accepted and all of them delivered');

    await statusPage.reload();
    t.match(await statusPage.locator(SEL.agent.state).innerText(), /enrolled/i);
    t.match(await statusPage.locator(SEL.agent.uplink).innerText(), /connected/i);
    t.notMatch(await statusPage.locator(SEL.agent.lastUpload).innerText(), /never/i, 'a last upload shows');
    t.equal(await statusPage.locator(SEL.agent.qr).count(), 0, 'the QR code is gone');
    writeScreenshot('status-page-enrolled.png', await statusPage.screenshot({ fullPage: true }));

    await page.goto(`${portalUrl}/portal/devices`);
    const row = page.locator(SEL.portal.deviceRow(qr.deviceId));
    t.match(await row.locator(SEL.portal.rowState).innerText(), /approved/);
    t.match(await row.innerText(), /Riverside Dental Practice/);
    t.equal(
      (await row.locator('td.connection').innerText()).trim(),
      'connected',
      'the portal shows it connected',
    );
    t.match(await row.innerText(), /\d{4}-\d\d-\d\d \d\d:\d\d/, 'the portal shows a last upload time');
    writeScreenshot('portal-devices.png', await page.screenshot({ fullPage: true }));
    enrolledAgent = { agent, qr, statusPage, photo };
  });

  t.test('a used pairing code is refused', async (t) => {
    const enrolled = enrolledAgent;
    if (!enrolled) throw new Error('needs the enrolled device of the previous subtest');
    const page = portalPage();
    await page.goto(`${portalUrl}/portal/enrol`);
    const [rescan] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/portal/enrol/lookup')),
      page.locator(SEL.portal.qrFile).setInputFiles({
        name: 'appliance.png',
        mimeType: 'image/png',
        buffer: Buffer.from(enrolled.photo),
      }),
    ]);
    t.equal(rescan.status(), 410, 'the same QR picture scanned again');
    await page.waitForLoadState('load');
    t.match(await page.locator(SEL.portal.error).innerText(), /already been used/);
    // Typed alone, a used code matches nothing: central forgets a code once it is used.
    await page.goto(`${portalUrl}/portal/enrol`);
    await page.locator(SEL.portal.pairingCode).fill(enrolled.qr.pairingCode);
    const typed = await submit(page, page.locator(SEL.portal.lookUp).click());
    t.equal(typed?.status(), 404, 'the used code typed');
  });

  t.test("an officer of another force cannot see, enrol or revoke a force's device", async (t) => {
    const enrolled = enrolledAgent;
    if (!enrolled) throw new Error('needs the enrolled device of the previous subtest');
    // Officer B signs in over HTTPS outside the browser: a second cookie jar, at the API level.
    const b = await apiSession(central, officerB);
    const qrText = (await enrolled.agent.status()).enrolment?.qr;
    t.equal(qrText, undefined);
    const lookup = await b.post('/portal/enrol/lookup', {
      qr: `cyberalarm-enrol:1?${new URLSearchParams({
        d: enrolled.qr.deviceId,
        p: enrolled.qr.pairingCode,
        f: enrolled.qr.fingerprint.replace(/:/g, ''),
        u: enrolled.qr.centralUrl,
      })}`,
    });
    t.equal(lookup.status, 403, "looking up force A's device is refused");
    t.match(lookup.body, /another force/);
    const devices = await b.get('/portal/devices');
    t.equal(devices.status, 200);
    t.notMatch(devices.body, enrolled.qr.deviceId, "force A's device is not listed for force B");
    const revoke = await b.post(`/portal/devices/${enrolled.qr.deviceId}/revoke`, {});
    // 404 rather than 403 is fine too: another force's device need not be admitted to exist.
    t.ok([403, 404].includes(revoke.status), `revoking force A's device is refused (${revoke.status})`);
    const still = await enrolled.agent.status();
    t.equal(still.enrolment?.state, 'enrolled', 'the device is still enrolled');

    // A pending (unbound) device: B may not bind it to a member of force A.
    const agent = await enrolling('agent-force');
    t.teardown(() => stop(agent));
    const pending = await waitForEnrolment(agent, 'pending');
    const qr = parseEnrolmentQr(pending.enrolment?.qr ?? '');
    if ('error' in qr) throw new Error(qr.error);
    // Officer A's approve form lists A's members: take the member id from there.
    const page = portalPage();
    await page.goto(`${portalUrl}/portal/enrol`);
    await page.locator(SEL.portal.pairingCode).fill(qr.pairingCode);
    await submit(page, page.locator(SEL.portal.lookUp).click());
    const memberA = await page
      .locator('#member-id option', { hasText: 'Riverside Dental Practice' })
      .getAttribute('value');
    if (!memberA) throw new Error("officer A's approve form lists no Riverside Dental Practice member");
    const approve = await b.post('/portal/enrol/approve', {
      deviceId: qr.deviceId,
      pairingCode: qr.pairingCode,
      memberId: memberA,
    });
    t.equal(approve.status, 403, "binding to force A's member is refused");
    t.equal((await agent.status()).enrolment?.state, 'pending', 'the device stays pending');
  });

  t.test('revoked from the portal: the broker refuses the device and its page says so', async (t) => {
    const enrolled = enrolledAgent;
    if (!enrolled) throw new Error('needs the enrolled device of the previous subtests');
    t.teardown(() => stop(enrolled.agent));
    await waitForEnrolment(enrolled.agent, 'enrolled', (s) => s.uplink.state === 'connected');
    const page = portalPage();
    await page.goto(`${portalUrl}/portal/devices`);
    const res = await submit(
      page,
      page.locator(SEL.portal.deviceRow(enrolled.qr.deviceId)).locator(SEL.portal.revoke).click(),
    );
    t.equal(res?.status(), 200);
    const revoked = await waitForEnrolment(enrolled.agent, 'revoked', (s) => s.uplink.state !== 'connected');
    t.not(revoked.uplink.state, 'connected');
    await enrolled.statusPage.reload();
    t.match(await enrolled.statusPage.locator(SEL.agent.state).innerText(), /revoked/i);
    writeScreenshot('status-page-revoked.png', await enrolled.statusPage.screenshot({ fullPage: true }));

    // The device's own certificate and key, straight at the broker: refused.
    const identity = join(dir, 'agent1', 'identity');
    const error = await tryMqttConnect(central.brokerPort, {
      cert: readFileSync(join(identity, 'device.crt'), 'utf8'),
      key: readFileSync(join(identity, 'device.key'), 'utf8'),
      ca: readFileSync(caFile, 'utf8'),
      clientId: enrolled.qr.deviceId,
    });
    t.ok(error, `the broker refuses the revoked certificate: ${error}`);
  });

  t.test('an expired pairing code is refused and the agent shows a new one', async (t) => {
    const agent = await enrolling('agent-expiry');
    t.teardown(() => stop(agent));
    const pending = await waitForEnrolment(agent, 'pending');
    const qr = parseEnrolmentQr(pending.enrolment?.qr ?? '');
    if ('error' in qr) throw new Error(qr.error);
    // Codes live for days (pairingCodeTtlDays): age this one in central's database, which PGlite lets
    // only one process open, so central stops and starts again on the same ports. The agent is
    // paused meanwhile so that it does not replace its code before the officer tries the old one.
    agent.child.kill('SIGSTOP');
    t.teardown(() => void agent.child.kill('SIGCONT'));
    const ports = ['--portal-port', String(central.portalPort), '--broker-port', String(central.brokerPort)];
    await central.kill();
    const db = await openDatabase(undefined, centralDir);
    try {
      const aged = await db.query(
        `UPDATE enrolment_requests SET expires_at = now() - interval '1 minute'
          WHERE device_id = $1 AND state = 'pending' RETURNING device_id`,
        [qr.deviceId],
      );
      t.equal(aged.length, 1, 'the pending request was aged');
    } finally {
      await db.close();
    }
    central = await startCentralProcess(centralDir, ports);

    const page = portalPage();
    await page.goto(`${portalUrl}/portal/enrol`);
    await page.locator(SEL.portal.pairingCode).fill(qr.pairingCode);
    const res = await submit(page, page.locator(SEL.portal.lookUp).click());
    t.equal(res?.status(), 410);
    t.match(await page.locator(SEL.portal.error).innerText(), /expired/);

    agent.child.kill('SIGCONT');
    const renewed = await waitFor(
      'the agent to show a new pairing code',
      async () => {
        const s = await agent.status();
        const now = parseEnrolmentQr(s.enrolment?.qr ?? '');
        const fresh = !('error' in now) && now.pairingCode !== qr.pairingCode;
        return fresh && s.enrolment?.centralState === 'pending' ? now : undefined;
      },
      40_000,
      500,
    );
    t.equal(renewed.deviceId, qr.deviceId, 'same device, new code');
    await page.goto(`${portalUrl}/portal/enrol`);
    await page.locator(SEL.portal.pairingCode).fill(qr.pairingCode);
    t.equal(
      (await submit(page, page.locator(SEL.portal.lookUp).click()))?.status(),
      404,
      'the old code is gone',
    );
  });

  t.test('a log line carrying a script tag shows inert on the status page', async (t) => {
    const agent = await enrolling('agent-xss');
    t.teardown(() => stop(agent));
    const page = await browser.newPage();
    let dialogs = 0;
    page.on('dialog', (d) => {
      dialogs++;
      void d.dismiss();
    });
    const payload =
      '<script>window.__pwned=1;alert(1)</script><img src=x onerror="window.__pwned=2;alert(2)">';
    await replay([`<13>Oct 11 22:14:15 host app: hello ${payload}`], {
      to: `tcp://127.0.0.1:${agent.tcpPort}`,
      rate: 0,
    });
    await waitFor(
      'the agent to count the line',
      async () => ((await agent.status()).pipeline.received > 0 ? true : undefined),
      10_000,
    );
    await page.goto(`http://127.0.0.1:${agent.statusPort}/`);
    t.ok((await page.locator('body').innerText()).includes(payload), 'the line shows as text');
    t.equal(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned), undefined);
    t.equal(dialogs, 0, 'no script ran');
    t.equal(await page.locator('img[src="x"]').count(), 0, 'no element came from the log line');
  });

  t.test('guessing pairing codes is locked out', async (t) => {
    const agent = await enrolling('agent-guess');
    t.teardown(() => stop(agent));
    const pending = await waitForEnrolment(agent, 'pending');
    const qr = parseEnrolmentQr(pending.enrolment?.qr ?? '');
    if ('error' in qr) throw new Error(qr.error);
    const page = portalPage();
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      await page.goto(`${portalUrl}/portal/enrol`);
      await page.locator(SEL.portal.pairingCode).fill(wrongCode(qr.pairingCode, i));
      statuses.push((await submit(page, page.locator(SEL.portal.lookUp).click()))?.status() ?? 0);
    }
    t.ok(
      statuses.slice(0, 2).every((s) => s === 404),
      `wrong codes: not found (${statuses.join(' ')})`,
    );
    t.equal(statuses.at(-1), 429, 'then refused outright');
    await page.goto(`${portalUrl}/portal/enrol`);
    await page.locator(SEL.portal.pairingCode).fill(qr.pairingCode);
    const right = await submit(page, page.locator(SEL.portal.lookUp).click());
    t.equal(right?.status(), 429, 'even the right code is refused while locked out');
    t.match(await page.locator(SEL.portal.error).innerText(), /too many/i);
  });
}

// ---- helpers ----

interface Officer {
  readonly username: string;
  readonly password: string;
  readonly totp: TOTP;
}

/** `cyberalarm-central officer add` prints the initial password and the otpauth:// URI (JSON line). */
async function addOfficer(central: CentralProc, username: string, force: string): Promise<Officer> {
  const out = await runCli(CENTRAL_CLI, [
    'officer',
    'add',
    '--username',
    username,
    '--force',
    force,
    '--data-dir',
    central.dataDir,
  ]);
  const line = out
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l) as { initialPassword?: unknown; otpauthUri?: unknown };
      } catch {
        return {};
      }
    })
    .find((v) => typeof v.initialPassword === 'string' && typeof v.otpauthUri === 'string');
  if (!line) throw new Error(`officer add printed no initialPassword and otpauthUri:\n${out}`);
  const totp = URI.parse(String(line.otpauthUri));
  if (!(totp instanceof TOTP)) throw new Error(`not a TOTP URI: ${String(line.otpauthUri)}`);
  return { username, password: String(line.initialPassword), totp };
}

function wrongTotp(totp: TOTP): string {
  const right = totp.generate();
  return String((Number(right) + 500_000) % 1_000_000).padStart(right.length, '0');
}

/** A syntactically valid pairing code that is not `code`. */
function wrongCode(code: string, i: number): string {
  const letters = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
  const guess = `${letters[i % letters.length]}${letters[(i * 7 + 3) % letters.length]}ZZ-2345`;
  return guess === code ? `${guess.slice(0, -1)}6` : guess;
}

/** Clicks (or whatever `action` does) and resolves with the navigation's main response. */
async function submit(page: Page, action: Promise<void>): Promise<Response | null> {
  const [response] = await Promise.all([page.waitForNavigation(), action]);
  return response;
}

async function submitSignIn(page: Page, officer: Officer, code: string): Promise<Response | null> {
  await page.locator(SEL.portal.username).fill(officer.username);
  await page.locator(SEL.portal.password).fill(officer.password);
  await page.locator(SEL.portal.totp).fill(code);
  return submit(page, page.locator(SEL.portal.totp).press('Enter'));
}

async function waitForEnrolment(
  agent: AgentProc,
  state: 'pending' | 'enrolled' | 'revoked',
  also: (s: AgentStatusView) => boolean = () => true,
): Promise<AgentStatusView> {
  let last: AgentStatusView | undefined;
  try {
    return await waitFor(
      `the agent's enrolment state to be ${state}`,
      async () => {
        last = await agent.status();
        // Pending counts once central has the request: before that the QR code leads nowhere.
        const registered = last.enrolment?.qr !== undefined && last.enrolment.centralState === 'pending';
        const ok = last.enrolment?.state === state && (state !== 'pending' || registered);
        return ok && also(last) ? last : undefined;
      },
      // Central asks pending devices to poll every 15 s; the agent then picks up its certificate.
      40_000,
      250,
    );
  } catch (err) {
    const seen = JSON.stringify({ enrolment: last?.enrolment, uplink: last?.uplink });
    throw new Error(`${String(err)}\nlast status: ${seen}\nagent log:\n${agent.stderr().slice(-3000)}`);
  }
}

function writeScreenshot(name: string, png: Uint8Array): void {
  mkdirSync(SCREENSHOTS, { recursive: true });
  writeFileSync(join(SCREENSHOTS, name), png);
}

interface ApiResponse {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** An officer's portal session outside the browser: form posts with the cookie and CSRF token. */
async function apiSession(
  central: CentralProc,
  officer: Officer,
): Promise<{
  get(path: string): Promise<ApiResponse>;
  post(path: string, form: Record<string, string>): Promise<ApiResponse>;
}> {
  const ca = readFileSync(join(central.dataDir, 'ca', 'ca.crt'), 'utf8');
  const signIn = await https(central.portalPort, ca, 'POST', '/portal/sign-in', undefined, {
    username: officer.username,
    password: officer.password,
    totp: officer.totp.generate(),
  });
  const setCookie = ([] as string[]).concat(signIn.headers['set-cookie'] ?? []);
  const cookie = setCookie.map((c) => c.split(';')[0]).join('; ');
  if (signIn.status !== 303 || !cookie)
    throw new Error(`sign-in of ${officer.username}: HTTP ${signIn.status}: ${signIn.body.slice(0, 500)}`);
  const enrol = await https(central.portalPort, ca, 'GET', '/portal/enrol', cookie);
  const csrf = /name="csrf" value="([^"]+)"/.exec(enrol.body)?.[1];
  if (!csrf) throw new Error(`no CSRF token on /portal/enrol (HTTP ${enrol.status})`);
  return {
    get: (path) => https(central.portalPort, ca, 'GET', path, cookie),
    post: (path, form) => https(central.portalPort, ca, 'POST', path, cookie, { csrf, ...form }),
  };
}

/** One HTTPS request to central's portal, trusting only central's CA. */
function https(
  port: number,
  ca: string,
  method: string,
  path: string,
  cookie: string | undefined,
  form?: Record<string, string>,
): Promise<ApiResponse> {
  const payload = form ? new URLSearchParams(form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `https://localhost:${port}${path}`,
      {
        method,
        ca,
        headers: {
          ...(payload !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          ...(cookie ? { cookie } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.end(payload);
  });
}

/** Connects to the broker with a device's certificate; resolves with the error, or '' if accepted. */
function tryMqttConnect(
  port: number,
  tls: { cert: string; key: string; ca: string; clientId: string },
): Promise<string> {
  return new Promise((resolve) => {
    const client = mqttConnect(`mqtts://localhost:${port}`, {
      ...tls,
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    const done = (result: string) => {
      client.end(true);
      resolve(result);
    };
    client.once('connect', () => done(''));
    client.once('error', (err) => done(err.message || String(err)));
    client.once('close', () => done('closed by the broker'));
  });
}
