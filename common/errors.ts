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

/**
 * One line for the operating-system errors an operator meets at start-up (a port in use, a
 * privileged port, a read-only or full disk), naming what failed and what to do; undefined for
 * anything else (a bug, reported with its stack).
 */
export function describeSystemError(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e === null || typeof e !== 'object' || typeof e.code !== 'string') return undefined;
  const where = e.port !== undefined ? `${e.address ?? ''}:${e.port}` : (e.path ?? '');
  switch (e.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where}: the port is in use by another program (stop it, or choose another port; 0 picks a free one)`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: this machine has no such address (check the listen host)`;
    case 'EACCES':
    case 'EPERM':
      return e.syscall === 'listen' || e.syscall === 'bind'
        ? `cannot listen on ${where}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE; or choose a port above 1023)`
        : `permission denied: ${where || e.message} (run as the account that owns it, or fix its owner and mode)`;
    case 'EROFS':
      return `cannot write ${where || 'the data directory'}: the file system is read-only (remount it read-write, or choose a data directory on a writable disk)`;
    case 'ENOSPC':
      return `cannot write ${where || 'the data directory'}: the disk is full (free space, or choose a data directory on a larger disk)`;
    default:
      return undefined;
  }
}

/**
 * What a TLS failure towards central means for the operator, in one sentence; the library's own
 * words ("self-signed certificate in certificate chain") say nothing about which file is wrong.
 */
export function explainTlsError(err: unknown, trustedCa: string): string | undefined {
  const code = (err as { code?: string } | null)?.code;
  switch (code) {
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_SIGNATURE_FAILURE':
      return `central's certificate is not signed by the CA this appliance trusts (${trustedCa}): that file is not central's current CA, or something between here and central presents its own certificate`;
    case 'CERT_HAS_EXPIRED':
      return `central's certificate has expired (or this appliance's clock is wrong: check its time)`;
    case 'CERT_NOT_YET_VALID':
      return `central's certificate is not valid yet: this appliance's clock is probably behind (check its time)`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `central's certificate does not name the host this appliance connects to: use the host name central's certificate was issued for`;
    default:
      return undefined;
  }
}
