/** Helpers shared by the two binaries' command-line wiring. */
import { ConfigError } from './config.js';

/** Prints one machine-readable JSON line on stdout (tests and the demo read these). */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Runs a command body; configuration and user errors end the process with a one-line message. */
export async function runCommand(name: string, body: () => Promise<void>): Promise<void> {
  // `... | head` closes our stdout early: that is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  try {
    await body();
  } catch (err) {
    const e = err as Error;
    if (e instanceof ConfigError || e.name === 'IdentityError' || e.name === 'UserError') {
      process.stderr.write(`${name}: ${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${name}: ${e.stack ?? e.message}\n`);
    process.exit(1);
  }
}

/** An error the user can fix (bad input file, unreachable target), reported without a stack trace. */
export class UserError extends Error {
  override readonly name = 'UserError';
}

/** Resolves when SIGINT or SIGTERM arrives. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (signal: NodeJS.Signals) => resolve(signal);
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
