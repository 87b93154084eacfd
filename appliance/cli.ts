#!/usr/bin/env -S node --max-semi-space-size=2 --optimize-for-size --no-maglev --no-sparkplug
/** `cyberalarm-agent`: the appliance binary. Wiring only: every stage lives in its own folder. */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { printJsonLine, runCommand, UserError, untilSignal } from '../common/cli.js';
import { addConfigFlags, explicitKeys, resolveConfig, sampleConfig } from '../common/config.js';
import { createLogger } from '../common/logger.js';
import { VERSION } from '../common/version.js';
import { startAgent } from './agent.js';
import { AgentConfigSchema } from './config.js';
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
  .command('config')
  .description('print a sample configuration file with every setting and its default')
  .argument('[what]', 'sample', 'sample')
  .action(() => {
    process.stdout.write(sampleConfig(AgentConfigSchema, 'cyberalarm-agent run configuration'));
  });

await program.parseAsync();
