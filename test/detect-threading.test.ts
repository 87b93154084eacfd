/**
 * Detection does not depend on how the pipeline is threaded: the same lines give the same alerts
 * with parsing on the main thread (every minimised event reaches the engine) and with one or two
 * parse workers (each posts its batches' events, packed, to the main thread's engine).
 * The input is the project's labelled replay (every attack kind, four vendors, benign traffic),
 * with outbox summaries on, as the agent runs by default.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { AgentConfigSchema } from '../appliance/config.js';
import type { Alert } from '../appliance/detect/alert.js';
import { startLiveDetection } from '../appliance/detect/live.js';
import { SourceIntake } from '../appliance/ingest/intake.js';
import { FAMILIES } from '../appliance/parse/registry.js';
import { createPipeline } from '../appliance/pipeline/agent-pipeline.js';
import { MemberSettings } from '../appliance/settings/member-settings.js';
import { resolveConfig } from '../common/config.js';
import { generateDetectReplay } from '../tools/bench/lib/detect-replay.js';

const root = mkdtempSync(join(tmpdir(), 'ca-detect-threads-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

const HOURS = 8;
// Ends a minute ago: year-less stamps resolve to this year, as live syslog does.
const replay = generateDetectReplay({
  seed: 5,
  lines: 40_000,
  hours: HOURS,
  start: new Date(Date.now() - HOURS * 3_600_000 - 60_000),
});
const config = resolveConfig(AgentConfigSchema, {});

interface Found {
  readonly verdict: string;
  readonly events: number;
}

/** Final alerts by identity (detector, kind, source): how bad, its targets and ports, its events. */
async function alertsWith(pipelineWorkers: number): Promise<Map<string, Found>> {
  const settings = new MemberSettings({
    dataDir: mkdtempSync(join(root, 'd-')),
    config,
    familyNames: FAMILIES.map((f) => f.name),
    loadKey: () => new Uint8Array(32).fill(4),
  });
  const finals = new Map<string, Alert>();
  const detection = startLiveDetection({
    settings: config,
    privacy: () => settings.current.privacy,
    onAlert: (alert) => finals.set(`${alert.detector}|${alert.kind}|${alert.source}`, alert),
    // No wall-clock ticks: the replay is hours long and fed in seconds; finish() closes everything.
    tickMs: 2 ** 30,
  })!;
  const intake = new SourceIntake({ maxMessagesPerSourcePerS: 0 });
  const pipeline = await createPipeline(
    { pipelineWorkers, summaryWindowS: 60, summaryMaxKeys: config.summaryMaxKeys },
    { append: () => undefined },
    intake,
    settings.current,
    (err) => t.fail(`a parse worker died: ${err.message}`),
    detection.observe,
  );
  try {
    for (const [i, line] of replay.lines.entries()) {
      pipeline.accept(Buffer.from(line), '192.0.2.200', 'tcp', false);
      // Let the workers keep up, as the listeners' backpressure would.
      if (i % 2000 === 1999) await pipeline.flushAll();
    }
    await pipeline.flushAll();
    detection.stop();
  } finally {
    await pipeline.close();
    intake.close();
  }
  return new Map(
    [...finals].map(([key, a]) => [
      key,
      { verdict: `${a.severity} targets=${a.distinctTargets} ports=${a.distinctPorts}`, events: a.events },
    ]),
  );
}

t.test('the same alerts with 0, 1 and 2 parse workers', async (t) => {
  const inline = await alertsWith(0);
  t.ok(inline.size >= 10, `the replay raises alerts (${inline.size})`);
  const detectors = new Set([...inline.keys()].map((k) => k.split('|')[0]));
  for (const name of ['horizontal-scan', 'vertical-scan', 'brute-force', 'beaconing', 'worm-fanout'])
    t.ok(detectors.has(name), `${name} among them`);
  const verdicts = (found: Map<string, Found>) =>
    Object.fromEntries([...found].map(([k, f]) => [k, f.verdict]).sort());
  for (const workers of [1, 2]) {
    const threaded = await alertsWith(workers);
    t.same(
      verdicts(threaded),
      verdicts(inline),
      `${workers} worker(s): the same alerts, severities, targets, ports`,
    );
    // The workers hand over the very events the main thread would see, in the same order.
    t.same(
      Object.fromEntries([...threaded].map(([k, f]) => [k, f.events]).sort()),
      Object.fromEntries([...inline].map(([k, f]) => [k, f.events]).sort()),
      `${workers} worker(s): the same evidence counts`,
    );
  }
});
