/**
 * The wall clock stepped back or forward an hour under a running agent (NTP after a long power-off,
 * an operator's `date -s`): uploads carry on. Before, the uplink's drain-rate bucket read Date.now()
 * and a clock stepped back an hour held every batch back for an hour while status said `connected`.
 * The agent gets a preload (NODE_OPTIONS) that steps its Date.now on SIGUSR2, once it is uploading.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { replay } from '../../appliance/replay/replay.js';
import { issueDevice, startAgentProcess, startCentralProcess, waitFor } from '../../tools/demo/harness.js';
import { generateTraffic } from '../../tools/demo/traffic.js';

const dir = mkdtempSync(join(tmpdir(), 'ca-clock-step-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const stepOnSignal = (stepMs: number) =>
  `--import=data:text/javascript,${encodeURIComponent(
    `const real = Date.now.bind(Date); process.on('SIGUSR2', () => { Date.now = () => real() + (${stepMs}); });`,
  )}`;

for (const [label, stepMs] of [
  ['back', -3_600_000],
  ['forward', 3_600_000],
] as const) {
  t.test(
    `clock stepped ${label} an hour while draining: every parsed event still reaches central`,
    async (t) => {
      const central = await startCentralProcess(join(dir, `central-${label}`));
      t.teardown(() => central.kill());
      const identity = join(dir, `agent-${label}`, 'identity');
      await issueDevice(central.dataDir, `clock-${label}`, identity);
      const before = process.env.NODE_OPTIONS;
      process.env.NODE_OPTIONS = stepOnSignal(stepMs);
      const agent = await startAgentProcess(
        join(dir, `agent-${label}`),
        identity,
        `mqtts://localhost:${central.brokerPort}`,
        // Summaries off and small batches through a slow drain: many token checks around the step.
        ['--summary-window-s', '0', '--batch-max-events', '50', '--uplink-max-bytes-per-s', '20000'],
      ).finally(() => {
        if (before === undefined) delete process.env.NODE_OPTIONS;
        else process.env.NODE_OPTIONS = before;
      });
      t.teardown(() => agent.kill());

      const storedAll = async (what: string) => {
        const parsed = await waitFor(
          `the agent to parse the ${what} lines`,
          async () => {
            const s = await agent.status();
            return s.pipeline.queued === 0 && s.pipeline.parsed + s.pipeline.unparsed === s.pipeline.received
              ? s.pipeline.parsed
              : undefined;
          },
          60_000,
        );
        const stored = await waitFor(
          `central to store the ${what} events`,
          async () => {
            const c = await central.stats();
            return c.stored >= parsed ? c.stored : undefined;
          },
          90_000,
        );
        return { parsed, stored };
      };

      await replay(generateTraffic(400, { seed: 11 }), {
        to: `tcp://127.0.0.1:${agent.tcpPort}`,
        rate: 2000,
      });
      const first = await storedAll('first');
      t.equal(first.stored, first.parsed, 'before the step: everything stored');

      agent.child.kill('SIGUSR2');
      await replay(generateTraffic(400, { seed: 12 }), {
        to: `tcp://127.0.0.1:${agent.tcpPort}`,
        rate: 2000,
      });
      const second = await storedAll('second');
      t.equal(second.stored, second.parsed, `after the ${label} step: everything stored`);
      t.ok(second.parsed > first.parsed, 'the second lot was parsed too');
      const status = await agent.status();
      t.equal(status.uplink.state, 'connected');
    },
  );
}
