#!/usr/bin/env node
/** `cyberalarm-central`: the police central service binary. Wiring only. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { printJsonLine, runCommand, UserError, untilSignal } from '../common/cli.js';
import { addConfigFlags, resolveConfig, sampleConfig } from '../common/config.js';
import { createLogger } from '../common/logger.js';
import { VERSION } from '../common/version.js';
import { limits } from '../protocol/limits.js';
import { isValidDeviceId } from '../protocol/topics.js';
import { createCrl } from '../provisioning/ca.js';
import { writeMosquittoFiles } from './broker/mosquitto-files.js';
import { startCentral } from './central.js';
import {
  CentralConfigSchema,
  CorrelateConfigSchema,
  IntelPublishConfigSchema,
  WorkerConfigSchema,
} from './config.js';
import { correlateOnDemand, correlationPeriod } from './correlate/correlate-command.js';
import { importListFile, publishOnDemand } from './intel/intel-commands.js';
import { intelDir } from './intel/intel-files.js';
import { loadOrCreateIntelSigningKey, writeIntelPublicKey } from './intel/signing-key.js';
import { initDevCa, loadOrCreateCa, writeDeviceIdentity } from './pki/ca-files.js';
import { createOfficer, recordIssuedCertificate, revokeDevice } from './portal/admin-client.js';
import { parsePeriod } from './portal/server.js';
import { formatDeviceReport } from './report/device-report.js';
import { fetchDeviceReport } from './report/fetch-report.js';
import {
  fetchMemberReportData,
  memberReportPeriod,
  setMemberEmailOnDemand,
} from './report/member-commands.js';
import { renderMemberReportHtml } from './report/member-report-page.js';
import { DEFAULT_CHROMIUM, pdfUnavailable, renderPdf } from './report/pdf.js';
import { startWorker } from './worker.js';

const program = new Command('cyberalarm-central')
  .description('CyberAlarm central service: broker, ingest, store, reports and the police portal')
  .version(VERSION);

addConfigFlags(
  program.command('run').description('run central: broker, ingest, database and HTTPS portal'),
  CentralConfigSchema,
).action((flags: Record<string, unknown>) =>
  runCommand('cyberalarm-central run', async () => {
    const config = resolveConfig(CentralConfigSchema, flags);
    const logger = createLogger('central', config.logLevel);
    const central = await startCentral(config, logger);
    printJsonLine({ event: 'listening', ...central.ports, runtimeFile: central.runtimeFile });
    logger.info({ ...central.ports }, 'central running');
    const signal = await untilSignal();
    logger.info({ signal }, 'stopping');
    await central.close();
    process.exit(0);
  }),
);

addConfigFlags(
  program
    .command('worker')
    .description(
      'run a stateless ingest worker: shared subscription on an external broker → PostgreSQL; /metrics over HTTP',
    )
    .option(
      '--retire',
      'leave for good: unsubscribe, store what the broker still holds for this worker id, end its sessions, exit',
    ),
  WorkerConfigSchema,
).action((flags: Record<string, unknown>) =>
  runCommand('cyberalarm-central worker', async () => {
    const { retire, ...settings } = flags;
    const config = resolveConfig(WorkerConfigSchema, settings);
    const logger = createLogger('central-worker', config.logLevel);
    const worker = await startWorker(config, logger);
    printJsonLine({
      event: 'listening',
      metrics: worker.metricsPort,
      workerId: worker.workerId,
      clientIds: worker.clientIds,
    });
    if (retire === true) {
      await worker.close({ retire: true });
      printJsonLine({ event: 'retired', workerId: worker.workerId });
      process.exit(0);
    }
    logger.info({ workerId: worker.workerId, metricsPort: worker.metricsPort }, 'worker running');
    const signal = await untilSignal();
    logger.info({ signal }, 'stopping');
    await worker.close();
    process.exit(0);
  }),
);

program
  .command('report')
  .description(
    'a device report (--device: events by action, top sources and ports, as text or JSON) or a member report (--member: HTML with charts, or PDF)',
  )
  .option('--device <id>', 'device id: the device report')
  .option('--member <id>', 'member id: the member report')
  .option('--from <iso>', 'start of the period (default: 24 hours before --to; 7 days for --member)')
  .option('--to <iso>', 'end of the period (default: now)')
  .option('--top <n>', 'rows in the top lists (device report)', '10')
  .option('--format <format>', 'member report: html | pdf | json', 'html')
  .option('--out <file>', 'member report: write here (default: stdout for html and json)')
  .option('--chromium-path <path>', 'Chromium for --format pdf', DEFAULT_CHROMIUM)
  .option('--data-dir <dir>', "central's data directory", './data/central')
  .option('--db <url>', 'PostgreSQL URL (default: the PGlite database in --data-dir)', '')
  .option('--json', 'print JSON instead of a table (device report)')
  .action(
    (opts: {
      device?: string;
      member?: string;
      from?: string;
      to?: string;
      top: string;
      format: string;
      out?: string;
      chromiumPath: string;
      dataDir: string;
      db: string;
      json?: boolean;
    }) =>
      runCommand('cyberalarm-central report', async () => {
        if (opts.member !== undefined) {
          if (opts.device !== undefined) throw new UserError('give --device or --member, not both');
          if (!['html', 'pdf', 'json'].includes(opts.format))
            throw new UserError(`--format ${JSON.stringify(opts.format)}: use html, pdf or json`);
          if (opts.format === 'pdf' && !opts.out) throw new UserError('--format pdf needs --out FILE');
          const period = memberReportPeriod(opts.from, opts.to);
          if (opts.format === 'pdf') {
            const why = await pdfUnavailable(opts.chromiumPath);
            if (why) throw new UserError(why);
          }
          const data = await fetchMemberReportData({
            dataDir: opts.dataDir,
            db: opts.db,
            memberId: opts.member,
            ...period,
          });
          const html = renderMemberReportHtml(data);
          const body =
            opts.format === 'json'
              ? `${JSON.stringify(data, null, 2)}\n`
              : opts.format === 'pdf'
                ? await renderPdf(html, opts.chromiumPath)
                : html;
          if (opts.out) {
            writeFileSync(resolve(opts.out), body);
            printJsonLine({
              event: 'report',
              memberId: data.memberId,
              from: data.from,
              to: data.to,
              format: opts.format,
              out: resolve(opts.out),
              bytes: body.length,
            });
          } else process.stdout.write(body);
          return;
        }
        if (opts.device === undefined) throw new UserError('give --device ID or --member ID');
        const period = parsePeriod(opts.from, opts.to);
        if ('error' in period) throw new UserError(period.error);
        const top = Number(opts.top);
        if (!Number.isInteger(top) || top < 1) throw new UserError('--top must be a whole number ≥ 1');
        const report = await fetchDeviceReport({
          dataDir: opts.dataDir,
          db: opts.db,
          deviceId: opts.device,
          ...period,
          top,
        });
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatDeviceReport(report));
      }),
  );

program
  .command('member')
  .description('member organisations')
  .command('set-email')
  .description("set (or with --clear remove) the address a member's scheduled reports are mailed to")
  .requiredOption('--member <id>', 'member id')
  .option('--email <address>', 'e-mail address')
  .option('--clear', 'remove the address: reports are archived but not mailed')
  .option('--data-dir <dir>', "central's data directory", './data/central')
  .option('--db <url>', 'PostgreSQL URL (default: the PGlite database in --data-dir)', '')
  .action((opts: { member: string; email?: string; clear?: boolean; dataDir: string; db: string }) =>
    runCommand('cyberalarm-central member set-email', async () => {
      if ((opts.email === undefined) === (opts.clear !== true))
        throw new UserError('give --email ADDRESS or --clear');
      printJsonLine({
        event: 'member-email',
        ...(await setMemberEmailOnDemand({
          dataDir: opts.dataDir,
          db: opts.db,
          memberId: opts.member,
          email: opts.email ?? null,
        })),
      });
    }),
  );

const device = program
  .command('device')
  .description('device identities (development CA; QR enrolment replaces this)');
device
  .command('issue')
  .description("issue a device certificate from central's CA and write the agent's identity directory")
  .requiredOption('--id <deviceId>', 'device id (letters, digits, . _ -)')
  .requiredOption(
    '--out <dir>',
    'identity directory to write (device.crt, device.key, ca.crt, intel-signing.pub)',
  )
  .option('--data-dir <dir>', "central's data directory (holds the CA)", './data/central')
  .option('--db <url>', 'PostgreSQL URL (default: the PGlite database in --data-dir)', '')
  .action((opts: { id: string; out: string; dataDir: string; db: string }) =>
    runCommand('cyberalarm-central device issue', async () => {
      if (!isValidDeviceId(opts.id))
        throw new UserError(`--id ${JSON.stringify(opts.id)}: use 1-64 letters, digits, . _ -`);
      const ca = await loadOrCreateCa(join(resolve(opts.dataDir), 'ca'));
      let serial = '';
      await writeDeviceIdentity(resolve(opts.out), opts.id, ca, async (issued) => {
        const recorded = await recordIssuedCertificate({
          dataDir: opts.dataDir,
          db: opts.db,
          deviceId: opts.id,
          certificatePem: issued.certPem,
        });
        serial = recorded.serial;
      });
      writeIntelPublicKey(resolve(opts.out), loadOrCreateIntelSigningKey(intelDir(resolve(opts.dataDir))));
      printJsonLine({ event: 'issued', deviceId: opts.id, serial, identityDir: resolve(opts.out) });
    }),
  );

device
  .command('revoke')
  .description('revoke a device: its certificates go on the CRL and the broker disconnects and refuses it')
  .requiredOption('--id <deviceId>', 'device id')
  .option('--data-dir <dir>', "central's data directory", './data/central')
  .option('--db <url>', 'PostgreSQL URL (default: the PGlite database in --data-dir)', '')
  .action((opts: { id: string; dataDir: string; db: string }) =>
    runCommand('cyberalarm-central device revoke', async () => {
      printJsonLine({
        event: 'revoked',
        ...(await revokeDevice({ dataDir: opts.dataDir, db: opts.db, deviceId: opts.id })),
      });
    }),
  );

addConfigFlags(
  program
    .command('correlate')
    .description(
      'run the correlation job once (campaigns, emerging ports, new scanners): one JSON line per finding, then a summary',
    )
    .option('--from <iso>', 'start of the period (default: --campaign-window-h hours before --to)')
    .option('--to <iso>', 'end of the period, exclusive (default: now)'),
  CorrelateConfigSchema,
).action((flags: Record<string, unknown>) =>
  runCommand('cyberalarm-central correlate', async () => {
    const { from, to, ...settings } = flags;
    const config = resolveConfig(CorrelateConfigSchema, settings);
    const period = correlationPeriod(
      from as string | undefined,
      to as string | undefined,
      config.campaignWindowH,
    );
    const run = await correlateOnDemand(config, period);
    for (const finding of run.findings) printJsonLine({ event: 'finding', ...finding });
    printJsonLine({
      event: 'summary',
      from: run.from,
      to: run.to,
      ...run.counts,
      baselineDays: run.baselineDays,
      ...run.stored,
      ms: run.ms,
    });
  }),
);

const intel = program
  .command('intel')
  .description('threat-intel lists central signs and publishes to every appliance');
intel
  .command('import')
  .description('store an operator blocklist; it is published with the next publication (intel publish)')
  .requiredOption('--list <name>', 'list name (a-z 0-9 - _; not campaigns or scanners)')
  .argument('<file>', 'the list file')
  .option('--format <format>', 'auto | plain | firehol | spamhaus-drop | spamhaus-drop-json', 'auto')
  .option('--data-dir <dir>', "central's data directory", './data/central')
  .action((file: string, opts: { list: string; format: string; dataDir: string }) =>
    runCommand('cyberalarm-central intel import', async () => {
      printJsonLine({ event: 'imported', ...importListFile({ ...opts, file }) });
    }),
  );
addConfigFlags(
  intel
    .command('publish')
    .description(
      'publish every list now (campaigns, scanners, imported): through the running central, or to --broker-url',
    ),
  IntelPublishConfigSchema,
).action((flags: Record<string, unknown>) =>
  runCommand('cyberalarm-central intel publish', async () => {
    const outcomes = await publishOnDemand(resolveConfig(IntelPublishConfigSchema, flags));
    for (const outcome of outcomes) printJsonLine({ event: 'list', ...outcome });
  }),
);

program
  .command('officer')
  .description('police officer accounts for the portal')
  .command('add')
  .description(
    'create an officer (and the force if new); prints a one-time password and the TOTP otpauth:// URI',
  )
  .requiredOption('--username <name>', 'sign-in name (letters, digits, . _ -)')
  .requiredOption('--force <id>', 'police force id; the officer sees and enrols devices of this force only')
  .option('--region <id>', 'region of the force, when the force is new')
  .option('--data-dir <dir>', "central's data directory", './data/central')
  .option('--db <url>', 'PostgreSQL URL (default: the PGlite database in --data-dir)', '')
  .action((opts: { username: string; force: string; region?: string; dataDir: string; db: string }) =>
    runCommand('cyberalarm-central officer add', async () => {
      printJsonLine({ event: 'officer-created', ...(await createOfficer(opts)) });
    }),
  );

program
  .command('broker-config')
  .description('write a Mosquitto configuration and ACL matching the embedded broker rules')
  .option('--out <dir>', 'directory for mosquitto.conf and acl', './mosquitto')
  .option('--port <n>', 'TLS listener port for devices', '8883')
  .option('--bind <address>', 'address of the device listener (default: all)')
  .option('--worker-port <n>', "TLS listener port for central's ingest workers", '8884')
  .option('--worker-bind <address>', 'address of the worker listener: keep it internal', '127.0.0.1')
  .option('--user <name>', 'account Mosquitto runs as (must read the key files)', userInfo().username)
  .option('--data-dir <dir>', "central's data directory (CA and server certificate)", './data/central')
  .action(
    (opts: {
      out: string;
      port: string;
      bind?: string;
      workerPort: string;
      workerBind: string;
      user: string;
      dataDir: string;
    }) =>
      runCommand('cyberalarm-central broker-config', async () => {
        const port = Number(opts.port);
        const workerPort = Number(opts.workerPort);
        for (const [flag, value] of [
          ['--port', port],
          ['--worker-port', workerPort],
        ] as const) {
          if (!Number.isInteger(value) || value < 1 || value > 65535)
            throw new UserError(`${flag} must be 1-65535`);
        }
        if (port === workerPort) throw new UserError('--port and --worker-port must differ');
        const out = resolve(opts.out);
        mkdirSync(out, { recursive: true });
        const pki = await initDevCa(resolve(opts.dataDir), { hostnames: [], ips: [] });
        // Central rewrites this CRL on every revocation; Mosquitto refuses to start without it.
        const crlFile = join(resolve(opts.dataDir), 'ca', 'crl.pem');
        if (!existsSync(crlFile)) {
          const ca = await loadOrCreateCa(join(resolve(opts.dataDir), 'ca'));
          const now = new Date();
          writeFileSync(
            crlFile,
            await createCrl(ca, [], { crlNumber: Math.floor(now.getTime() / 1000), validDays: 365, now }),
          );
        }
        const written = writeMosquittoFiles(out, {
          port,
          ...(opts.bind ? { bindAddress: opts.bind } : {}),
          workerPort,
          workerBindAddress: opts.workerBind,
          runAsUser: opts.user,
          certFile: pki.serverCert,
          keyFile: pki.serverKey,
          caFile: pki.caCert,
          workerCaFile: pki.ingestCaCert,
          crlFile,
          maxPacketBytes: limits.maxPayloadBytes + 4096,
        });
        printJsonLine({
          event: 'written',
          config: written.config,
          acl: written.acl,
          persistence: written.persistenceDir,
          pidFile: written.pidFile,
          devicePort: port,
          workerPort,
          ingestCert: pki.ingestCert,
        });
      }),
  );

program
  .command('config')
  .description('print a sample configuration file with every setting and its default')
  .argument('[what]', 'sample', 'sample')
  .action(() => {
    process.stdout.write(sampleConfig(CentralConfigSchema, 'cyberalarm-central run configuration'));
  });

await program.parseAsync();
