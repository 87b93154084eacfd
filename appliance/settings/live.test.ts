/**
 * Pipeline-level: a change accepted by MemberSettings reaches the very next event, through the same
 * wiring as `agent.ts` (onApplied → pipeline.apply), with no restart: parsing on the main thread and
 * on worker threads alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { resolveConfig } from '../../common/config.js';
import type { ConnectionEvent } from '../../protocol/event.js';
import { AgentConfigSchema } from '../config.js';
import { SourceIntake } from '../ingest/intake.js';
import { FAMILIES } from '../parse/registry.js';
import { createPipeline } from '../pipeline/agent-pipeline.js';
import { MemberSettings } from './member-settings.js';

const root = mkdtempSync(join(tmpdir(), 'ca-live-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

const FORTIGATE =
  'date=2026-03-10 time=14:22:05 devname="FGT60F" devid="FGT60FTK20000001" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=192.168.1.50 srcport=51515 srcintf="internal" dstip=93.184.216.34 dstport=443 dstintf="wan1" sessionid=1 proto=6 action="close" policyid=3 policyname="Allow CEO laptop" service="HTTPS" duration=12 sentbyte=2048 rcvdbyte=40960';

async function setup(pipelineWorkers: number) {
  const settings = new MemberSettings({
    dataDir: mkdtempSync(join(root, 'd-')),
    config: resolveConfig(AgentConfigSchema, {}),
    familyNames: FAMILIES.map((f) => f.name),
    loadKey: () => new Uint8Array(32).fill(3),
  });
  const sent: ConnectionEvent[] = [];
  const intake = new SourceIntake();
  const pipeline = await createPipeline(
    { pipelineWorkers, summaryWindowS: 0, summaryMaxKeys: 1000 },
    { append: (event: ConnectionEvent) => sent.push(event) },
    intake,
    settings.current,
    (err) => t.fail(`a parse worker died: ${err.message}`),
  );
  // The wiring of agent.ts.
  settings.onApplied((applied) => pipeline.apply(applied));
  t.teardown(async () => {
    await pipeline.close();
    intake.close();
  });
  /** One message, and everything it produced in the outbox (workers answer asynchronously). */
  const send = async (source = '192.0.2.1') => {
    pipeline.accept(Buffer.from(FORTIGATE), source, 'udp', false);
    await pipeline.flushAll();
  };
  return { settings, pipeline, sent, send };
}

for (const workers of [0, 2]) {
  const where = workers === 0 ? 'main thread' : `${workers} worker threads`;

  t.test(`${where}: a privacy change applies to the next event through minimise`, async (t) => {
    const { settings, sent, send } = await setup(workers);
    await send();
    t.equal(sent.length, 1);
    t.match(sent[0]?.src_ip, /^p:/, 'internal address pseudonymised by default');
    t.equal(sent[0]?.dst_ip, '93.184.216.34', 'external kept');
    const ruleCode = sent[0]?.rule;
    t.match(ruleCode, /^p:/);

    t.match(settings.apply('privacy', { privacyInternalAddresses: 'keep', privacyRuleNames: 'drop' }, 'x'), {
      ok: true,
    });
    await send();
    t.equal(sent[1]?.src_ip, '192.168.1.50', 'kept from the next event on');
    t.notOk('rule' in (sent[1] ?? {}), 'rule name dropped');

    t.match(
      settings.apply(
        'privacy',
        { privacyAddressFields: 'src_ip=drop', privacyRuleNames: 'pseudonymise' },
        'x',
      ),
      {
        ok: true,
      },
    );
    await send();
    t.notOk('src_ip' in (sent[2] ?? {}), 'per-field exception');
    t.equal(sent[2]?.rule, ruleCode, 'the same key: pseudonyms stay stable across a change');

    t.match(
      settings.apply('privacy', { privacyNetworks: '93.184.216.0/24', privacyAddressFields: '' }, 'x'),
      {
        ok: true,
      },
    );
    t.match(settings.apply('privacy', { privacyInternalAddresses: 'pseudonymise' }, 'x'), { ok: true });
    await send();
    t.match(sent[3]?.dst_ip, /^p:/, "the member's own public network is now treated as internal");

    const refused = settings.apply(
      'privacy',
      { privacyInternalAddresses: 'keep', privacyNetworks: 'nope' },
      'x',
    );
    t.equal(refused.ok, false);
    await send();
    t.match(sent[4]?.src_ip, /^p:/, 'a refused change leaves the running policy alone');
  });

  t.test(`${where}: an override change applies to that source's next message`, async (t) => {
    const { settings, pipeline, sent, send } = await setup(workers);
    await send('192.0.2.1');
    t.equal(pipeline.counters.parsed, 1);
    t.match(pipeline.sources()[0], {
      source: '192.0.2.1',
      format: 'fortinet_fortigate',
      formatFrom: 'detection',
    });

    t.match(settings.setSourceFormat('192.0.2.1', 'pfsense', 'x'), { ok: true });
    t.match(pipeline.sources()[0], { format: 'pfsense', formatFrom: 'override' }, 'shown at once');
    await send('192.0.2.1');
    t.equal(pipeline.counters.unparsed, 1, 'pinned to the wrong family: unparsed, not guessed');
    await send('192.0.2.2');
    t.equal(pipeline.counters.parsed, 2, 'another source is still detected');

    t.match(settings.setSourceFormat('192.0.2.1', '', 'x'), { ok: true });
    await send('192.0.2.1');
    t.equal(pipeline.counters.parsed, 3, 'cleared: detected again');
    t.match(
      pipeline.sources().find((s) => s.source === '192.0.2.1'),
      { formatFrom: 'detection' },
    );
    t.equal(sent.length, 3);
  });
}
