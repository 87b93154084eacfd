/** Helpers shared by the two binaries' command-line wiring. */
import { describeSystemError, UserFacingError } from './errors.js';

export { UserError } from './errors.js';

/** Prints one machine-readable JSON line on stdout (tests and the demo read these). */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Runs a command body; an error the user can fix (`common/errors.ts`) ends it with a one-line message. */
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
    const oneLine = e instanceof UserFacingError ? e.message : describeSystemError(e);
    if (oneLine !== undefined) {
      process.stderr.write(`${name}: ${oneLine}\n`);
      process.exit(2);
    }
    process.stderr.write(`${name}: ${e.stack ?? e.message}\n`);
    process.exit(1);
  }
}

/** Resolves when SIGINT or SIGTERM arrives. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (signal: NodeJS.Signals) => resolve(signal);
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
