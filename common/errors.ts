/**
 * The errors a person running a binary can fix (a bad setting, a missing identity file, a broken key
 * file, a wrong argument). `runCommand` ends the command on any of them with one line — the binary's
 * name and the message — and exit code 2; anything else is a bug and prints its stack (exit code 1).
 * Messages name what is wrong and how to fix it.
 */
export abstract class UserFacingError extends Error {}

/** A setting is missing or out of range; the message names the key and the accepted values. */
export class ConfigError extends UserFacingError {
  override readonly name = 'ConfigError';
}

/** A command-line argument or input file the command cannot use. */
export class UserError extends UserFacingError {
  override readonly name = 'UserError';
}
