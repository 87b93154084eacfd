#!/usr/bin/env -S node --max-semi-space-size=2 --optimize-for-size --no-maglev --no-sparkplug
/** `cyberalarm-agent`: the appliance binary. Wiring only: every stage lives in its own folder. */
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { printJsonLine, runCommand, UserError, untilSignal } from '../common/cli.js';
import { addConfigFlags, explicitKeys, resolveConfig, sampleConfig } from '../common/config.js';
import { createLogger } from '../common/logger.js';
import { VERSION } from '../common/version.js';
import { startAgent } from './agent.js';
import { AgentConfigSchema } from './config.js';
import { DETECTOR_NAMES } from './detect/detectors/index.js';
import { FAMILY_NAMES } from './parse/family-names.js';
import { replay } from './replay/replay.js';

const program = new Command('cyberalarm-agent')
  .description(
    'CyberAlarm appliance agent: reads firewall syslog, keeps connection metadata, forwards it to central',
  )
  .version(VERSION);

addConfigFlags(
  program
    .command('run')
    .description('run the agent: syslog listeners, outbox, uplink to central, status page'),
  AgentConfigSchema,
).action((flags: Record<string, unknown>) =>
  runCommand('cyberalarm-agent run', async () => {
    const config = resolveConfig(AgentConfigSchema, flags);
    const logger = createLogger('agent', config.logLevel);
    const agent = await startAgent(config, logger, {
      explicitKeys: explicitKeys(AgentConfigSchema, flags),
    });
    printJsonLine({ event: 'listening', deviceId: agent.deviceId, ...agent.ports });
    logger.info({ deviceId: agent.deviceId, ...agent.ports }, 'agent running');
    const signal = await untilSignal();
    logger.info({ signal }, 'stopping');
    await agent.close();
    process.exit(0);
  }),
);

program
  .command('parse')
  .description(
    'parse firewall log lines from stdin and print what the agent would extract, one JSON object per line',
  )
  .option('--format <name>', `auto, or one of: ${FAMILY_NAMES.join(', ')}`, 'auto')
  .option(
    '--input <kind>',
    'lines (one message per line) or jsonl (objects whose "raw" field holds the message)',
    'lines',
  )
  .option('--explain', 'add which format was detected and why')
  .action((opts: { format: string; input: string; explain?: boolean }) =>
    runCommand('cyberalarm-agent parse', async () => {
      if (opts.input !== 'lines' && opts.input !== 'jsonl')
        throw new UserError('--input must be lines or jsonl');
      if (opts.format !== 'auto' && !FAMILY_NAMES.includes(opts.format)) {
        throw new UserError(`--format must be auto or one of: ${FAMILY_NAMES.join(', ')}`);
      }
      // Loaded here, not at start-up: `run` keeps the parsers out of the socket thread.
      const { parseLines } = await import('./parse/parse-lines.js');
      const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
      for await (const out of parseLines(lines, {
        format: opts.format,
        input: opts.input,
        explain: opts.explain === true,
      })) {
        process.stdout.write(`${JSON.stringify(out)}\n`);
      }
    }),
  );

program
  .command('replay')
  .description('send the lines of FILE to a syslog listener at a steady rate')
  .argument('<file>', 'log file, one message per line')
  .requiredOption('--to <url>', 'udp://HOST:PORT or tcp://HOST:PORT')
  .option('--rate <n>', 'lines per second (0: as fast as possible)', '1000')
  .option('--count <n>', 'total lines to send, cycling through the file (default: the file once)')
  .option('--framing <kind>', 'TCP framing: newline or octet (RFC 6587)', 'newline')
  .action((file: string, opts: { to: string; rate: string; count?: string; framing: string }) =>
    runCommand('cyberalarm-agent replay', async () => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
      }
      const lines = text.split('\n').filter((l) => l.length > 0);
      const rate = Number(opts.rate);
      const count = opts.count === undefined ? undefined : Number(opts.count);
      if (!Number.isFinite(rate) || rate < 0) throw new UserError('--rate must be a number ≥ 0');
      if (count !== undefined && (!Number.isInteger(count) || count < 1))
        throw new UserError('--count must be a whole number ≥ 1');
      if (opts.framing !== 'newline' && opts.framing !== 'octet')
        throw new UserError('--framing must be newline or octet');
      try {
        const result = await replay(lines, {
          to: opts.to,
          rate,
          ...(count ? { count } : {}),
          framing: opts.framing,
        });
        printJsonLine({ event: 'replayed', ...result });
      } catch (err) {
        throw new UserError((err as Error).message);
      }
    }),
  );

program
  .command('detect')
  .description(
    'run the detectors over a firewall log on its own timestamps (parse, minimise, detect) and print each alert when raised and when closed, one JSON object per line, then a summary line',
  )
  .argument('[file]', 'log file, one syslog message per line; - or none for stdin', '-')
  .option(
    '--year <n>',
    'year for dates that have none (RFC 3164 stamps)',
    String(new Date().getUTCFullYear()),
  )
  .option(
    '--privacy-key-file <file>',
    "pseudonymise internal addresses with this key (the agent's <dataDir>/privacy.key) instead of a throwaway random one",
  )
  .option('--ignore <list>', 'addresses and networks never alerted on, comma-separated (as detectIgnore)', '')
  .option(
    '--max-tracked-sources <n>',
    'keys each detector tracks at once (as detectMaxTrackedSources)',
    '10000',
  )
  .option(
    '--disable <names>',
    `detectors to turn off, comma-separated (as detectDisabled): ${DETECTOR_NAMES.join(', ')}`,
    '',
  )
  .option('--updates', 'also print the updates between an alert being raised and closed')
  .action(
    (
      file: string,
      opts: {
        year: string;
        privacyKeyFile?: string;
        ignore: string;
        maxTrackedSources: string;
        disable: string;
        updates?: boolean;
      },
    ) =>
      runCommand('cyberalarm-agent detect', async () => {
        const year = Number(opts.year);
        if (!Number.isInteger(year) || year < 1970 || year > 2200)
          throw new UserError('--year must be a year, e.g. 2024');
        const maxTrackedSources = Number(opts.maxTrackedSources);
        if (!Number.isInteger(maxTrackedSources) || maxTrackedSources < 1)
          throw new UserError('--max-tracked-sources must be a whole number ≥ 1');
        const { detectLines } = await import('./detect/replay-file.js');
        const { detectOptions } = await import('./detect/settings.js');
        const checked = detectOptions({
          detectEnabled: true,
          detectDisabled: opts.disable,
          detectIgnore: opts.ignore,
          detectMaxTrackedSources: maxTrackedSources,
        });
        if (!checked.ok)
          throw new UserError(
            `--${checked.key === 'detectDisabled' ? 'disable' : 'ignore'}: ${checked.reason}`,
          );
        let privacyKey: Buffer | undefined;
        if (opts.privacyKeyFile !== undefined) {
          try {
            privacyKey = readFileSync(opts.privacyKeyFile);
          } catch (err) {
            throw new UserError(`cannot read ${opts.privacyKeyFile}: ${(err as Error).message}`);
          }
          if (privacyKey.length < 16)
            throw new UserError(`${opts.privacyKeyFile}: a privacy key has at least 16 bytes`);
        }
        const input = file === '-' ? process.stdin : createReadStream(file);
        input.on('error', () => {}); // reported by the line reader below
        const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
        try {
          for await (const out of detectLines(lines, {
            year,
            ignore: opts.ignore,
            maxTrackedSources,
            ...(checked.options.enabled ? { enabled: checked.options.enabled } : {}),
            ...(privacyKey ? { privacyKey } : {}),
            updates: opts.updates === true,
          })) {
            process.stdout.write(`${JSON.stringify(out)}\n`);
          }
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR')
            throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
          throw err;
        }
      }),
  );

program
  .command('config')
  .description('print a sample configuration file with every setting and its default')
  .argument('[what]', 'sample', 'sample')
  .action(() => {
    process.stdout.write(sampleConfig(AgentConfigSchema, 'cyberalarm-agent run configuration'));
  });

await program.parseAsync();
