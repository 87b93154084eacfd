import { pino } from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs on stderr, so stdout stays free for the machine-readable lines the CLIs print. */
export function createLogger(name: string, level: string): Logger {
  return pino({ name, level, base: { name } }, pino.destination({ fd: 2, sync: false }));
}
