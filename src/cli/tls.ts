// The TLS and credential flags of serve, connect and ping, turned into the library's options: `tls` and
// `credentials` for connect(), `tls` and `authenticate` for createServer(). Files are read here, so that a
// path that cannot be read is a bad flag (exit 2) naming it.
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions, TlsOptions } from 'node:tls';
import type { Authenticate } from '../server/server.js';
import { UsageError } from './args.js';

export const tlsFlags = {
  tls: { type: 'boolean' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  insecure: { type: 'boolean' },
  credentials: { type: 'string' },
} as const;

type Values = Record<string, string | boolean | undefined>;

/** connect and ping: any TLS flag turns TLS on; --cert/--key are a client certificate. */
export function clientSecurity(values: Values): {
  tls?: ConnectionOptions;
  credentials?: string;
} {
  const out: { tls?: ConnectionOptions; credentials?: string } = {};
  if (typeof values.credentials === 'string') out.credentials = values.credentials;
  const on = ['tls', 'ca', 'cert', 'key', 'insecure'].some((f) => values[f] !== undefined);
  if (!on) return out;
  const tls: ConnectionOptions = { ...certificate(values) };
  if (typeof values.ca === 'string') tls.ca = read('--ca', values.ca);
  // --insecure: no check of the server's certificate (self-signed, wrong name): encrypted, not authenticated.
  if (values.insecure === true) tls.rejectUnauthorized = false;
  out.tls = tls;
  return out;
}

/**
 * serve: --cert and --key turn TLS on; --ca asks every client for a certificate signed by that CA (and refuses
 * those without one, unless --insecure); --credentials accepts only clients presenting exactly that string.
 */
export function serverSecurity(values: Values): { tls?: TlsOptions; authenticate?: Authenticate } {
  const out: { tls?: TlsOptions; authenticate?: Authenticate } = {};
  if (typeof values.credentials === 'string') out.authenticate = exactly(values.credentials);
  const pair = certificate(values);
  if (pair.cert === undefined) {
    if (values.tls === true)
      throw new UsageError('--tls: serve needs --cert FILE and --key FILE to speak TLS');
    if (values.ca !== undefined) throw new UsageError('--ca: serve needs --cert FILE and --key FILE as well');
    if (values.insecure === true) {
      throw new UsageError(
        '--insecure: on serve it only relaxes --ca (client certificates); connect and ping take it',
      );
    }
    return out;
  }
  const tls: TlsOptions = { ...pair };
  if (typeof values.ca === 'string') {
    tls.ca = read('--ca', values.ca);
    tls.requestCert = true;
    tls.rejectUnauthorized = values.insecure !== true;
  } else if (values.insecure === true) {
    throw new UsageError(
      '--insecure: on serve it only relaxes --ca (client certificates); connect and ping take it',
    );
  }
  out.tls = tls;
  return out;
}

/** --cert and --key, which go together. */
function certificate(values: Values): { cert?: Buffer; key?: Buffer } {
  const cert = values.cert;
  const key = values.key;
  if (typeof cert === 'string' && typeof key !== 'string')
    throw new UsageError('--cert: needs --key FILE too');
  if (typeof key === 'string' && typeof cert !== 'string')
    throw new UsageError('--key: needs --cert FILE too');
  if (typeof cert !== 'string' || typeof key !== 'string') return {};
  return { cert: read('--cert', cert), key: read('--key', key) };
}

function read(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'error');
    throw new UsageError(`${flag}: cannot read "${path}" (${why})`);
  }
}

/** An authenticate hook that accepts exactly `expected` (compared in constant time). */
function exactly(expected: string): Authenticate {
  const want = Buffer.from(expected, 'utf8');
  return ({ credentials }) => credentials.length === want.length && timingSafeEqual(credentials, want);
}
