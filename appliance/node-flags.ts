/**
 * Node flags the agent runs with. A V8 heap's young generation grows to 16 MiB per semi-space under
 * a high allocation rate, and the socket thread allocates per message; measured by `npm run bench --
 * pipeline`, capping it keeps the agent's peak RSS about 50 MB lower at no cost in throughput.
 * V8 reads this only at start-up, so it is in `cli.ts`'s shebang (the `cyberalarm-agent` command),
 * and whoever starts `node dist/appliance/cli.js` directly passes it (the harness, systemd units).
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--optimize-for-size'];
