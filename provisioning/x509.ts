/**
 * The one place that loads @peculiar/x509. Its algorithm plugins are resolved through tsyringe,
 * which needs the Reflect metadata polyfill loaded first; importing `reflect-metadata` here, before
 * the library, keeps that order whatever order other modules import this one in.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// Node's webcrypto is the standard WebCrypto; only the DOM-less type declarations differ.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type * as X509 from '@peculiar/x509';
export { x509 };
