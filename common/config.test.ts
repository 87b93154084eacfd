import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import t from 'tap';
import { AgentConfigSchema } from '../appliance/config.js';
import { CentralConfigSchema } from '../central/config.js';
import { addConfigFlags, ConfigError, flagName, resolveConfig, sampleConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'ca-config-'));

t.test('defaults apply when nothing is given', async (t) => {
  const c = resolveConfig(AgentConfigSchema, {});
  t.equal(c.syslogUdpPort, 5514);
  t.equal(c.statusPort, 8080);
  t.equal(c.central, 'mqtts://localhost:8883');
});

t.test('file < flags, flags are coerced to the declared type', async (t) => {
  const file = join(dir, 'agent.yaml');
  writeFileSync(file, 'syslogUdpPort: 6000\nstatusPort: 9000\n');
  const c = resolveConfig(AgentConfigSchema, { config: file, statusPort: '0' });
  t.equal(c.syslogUdpPort, 6000);
  t.equal(c.statusPort, 0, 'port 0 allowed (pick a free one)');
});

t.test('JSON config files work too', async (t) => {
  const file = join(dir, 'central.json');
  writeFileSync(file, JSON.stringify({ portalPort: 9443, db: 'postgres://u@h/db' }));
  const c = resolveConfig(CentralConfigSchema, { config: file });
  t.equal(c.portalPort, 9443);
  t.equal(c.db, 'postgres://u@h/db');
});

t.test('bad values name the key, the flag and what is accepted', async (t) => {
  t.throws(() => resolveConfig(AgentConfigSchema, { syslogUdpPort: '70000' }), {
    name: 'ConfigError',
    message: /syslogUdpPort.*--syslog-udp-port.*0 to 65535.*70000/,
  });
  t.throws(() => resolveConfig(AgentConfigSchema, { statusPort: 'abc' }), {
    message: /--status-port: expected a number/,
  });
  t.throws(() => resolveConfig(AgentConfigSchema, { logLevel: 'loud' }), {
    message: /logLevel.*accepted: "fatal"/,
  });
  t.throws(() => resolveConfig(AgentConfigSchema, { central: 'http://x' }), { message: /central/ });
  t.throws(() => resolveConfig(CentralConfigSchema, { db: 'mysql://x' }), { message: /"db"/ });
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'syslogUdpPrt: 1\n');
  t.throws(() => resolveConfig(AgentConfigSchema, { config: file }), {
    message: /"syslogUdpPrt" is not a setting/,
  });
  writeFileSync(file, 'a: [\n');
  t.throws(() => resolveConfig(AgentConfigSchema, { config: file }), ConfigError);
  t.throws(() => resolveConfig(AgentConfigSchema, { config: join(dir, 'missing.yaml') }), {
    message: /missing.yaml/,
  });
});

t.test('every setting has a flag, a description and a place in the sample', async (t) => {
  for (const schema of [AgentConfigSchema, CentralConfigSchema]) {
    const cmd = addConfigFlags(new Command('x'), schema);
    const sample = sampleConfig(schema, 'sample');
    for (const [key, prop] of Object.entries(schema.properties)) {
      t.ok(
        cmd.options.some((o) => o.long === `--${flagName(key)}`),
        `--${flagName(key)}`,
      );
      t.ok(String((prop as { description?: string }).description).length > 5, `${key} described`);
      t.match(sample, key);
    }
  }
  t.equal(flagName('syslogUdpPort'), 'syslog-udp-port');
});
