/**
 * V8 flags the agent runs with, each measured on the replay of `npm run bench -- pipeline`:
 * - `--max-semi-space-size=2`: a heap's young generation grows to 16 MiB per semi-space under a high
 *   allocation rate, and the socket thread allocates per message; capped, the agent's peak RSS is
 *   about 50 MB lower at no cost in throughput.
 * - `--optimize-for-size`: V8 raises each heap's next-collection limit in 2 MB steps instead of 8 MB
 *   (three isolates with two parse workers); in three A/B pairs 10–15 MB lower peak, throughput
 *   within run-to-run noise (docs/PERFORMANCE.md).
 * - `--no-maglev --no-sparkplug` (Node 24): V8's two faster JIT tiers each keep code and feedback
 *   per isolate; without them hot code goes from the interpreter straight to TurboFan. On Node 24
 *   the agent peaked at 154–181 MB under the pipeline bench with them and 137–154 MB without, at
 *   the same throughput within run-to-run noise (docs/PERFORMANCE.md, "Node 24").
 * V8 reads these only at start-up, so they are in `cli.ts`'s shebang (the `cyberalarm-agent`
 * command), and whoever starts `node dist/appliance/cli.js` directly passes them (the harness,
 * systemd units).
 */
export const AGENT_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=2',
  '--optimize-for-size',
  '--no-maglev',
  '--no-sparkplug',
];
