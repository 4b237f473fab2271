// Why a connection attempt failed, in words a person can act on: refused, unknown host, not a lifeline
// server, authentication refused, TLS refused... From the error that ended the attempt: its `code` (an errno
// such as ECONNREFUSED, an OpenSSL code, or a LIFELINE_* code) first, its message as a last resort.

export interface AttemptContext {
  host: string;
  port: number;
  /** The client speaks TLS (--tls and friends). */
  tls: boolean;
  /** The attempt ended before the lifeline handshake completed (no WELCOME): a refusal, not a death. */
  handshaking: boolean;
}

const NAME_ERRORS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
const UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EHOSTDOWN']);
/** OpenSSL's verdicts on a certificate the client does not trust. */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
]);

/** One phrase saying why the attempt failed, for a "reconnecting" line or the final error. */
export function attemptFailure(err: Error, ctx: AttemptContext): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const message = firstLine(err.message);
  if (code === 'ECONNREFUSED') return 'connection refused (is a lifeline server listening there?)';
  if (NAME_ERRORS.has(code)) {
    return code === 'EAI_AGAIN'
      ? `the name "${ctx.host}" could not be resolved now (EAI_AGAIN: is DNS reachable?)`
      : `unknown host: the name "${ctx.host}" does not resolve (${code})`;
  }
  if (UNREACHABLE.has(code)) return `${code === 'ENETUNREACH' ? 'network' : 'host'} unreachable (${code})`;
  if (code === 'ETIMEDOUT' || code === 'LIFELINE_CONNECT_TIMEOUT') {
    return 'timed out (a firewall dropping packets, or the host is down)';
  }
  const tls = tlsFailure(code, message, ctx);
  if (tls !== undefined) return tls;
  if (code === 'LIFELINE_AUTH_FAILED')
    return 'authentication refused by the server (auth-failed): check --credentials';
  if (code === 'LIFELINE_BAD_WELCOME')
    return `the server dictated a heartbeat this client cannot keep: ${message}`;
  if (code === 'LIFELINE_UNSUPPORTED_VERSION')
    return `a lifeline server of another protocol version: ${message}`;
  const answered = /expected the lifeline preface .*, got ((?:[0-9a-f]{2} ?)+)/.exec(message);
  if (answered || code === 'LIFELINE_NOT_LIFELINE') {
    return `not a lifeline server${answered ? `: it answered ${printable(answered[1]!)}` : ''}`;
  }
  if (ctx.handshaking) {
    const tryTls = ctx.tls ? '' : ' (or one that speaks TLS: try --tls)';
    if (code === 'LIFELINE_HANDSHAKE_TIMEOUT' || /no handshake within/.test(message)) {
      return `connected, but no answer to HELLO (${message}): not a lifeline server?${tryTls}`;
    }
    if (code === 'ECONNRESET' || code === 'EPIPE' || /closed the connection|reset/.test(message)) {
      return `the server closed the connection before answering HELLO: not a lifeline server?${tryTls}`;
    }
  }
  if (code === 'LIFELINE_CONNECTION_LOST') return `lost the connection: ${message}`;
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

/** The line for an attempt that ends the client: "cannot connect to H:P: why". */
export function finalFailure(err: Error, ctx: AttemptContext, everConnected: boolean): string {
  const where = `${ctx.host}:${ctx.port}`;
  return `${everConnected ? where : `cannot connect to ${where}`}: ${attemptFailure(err, ctx)}`;
}

function tlsFailure(code: string, message: string, ctx: AttemptContext): string | undefined {
  if (UNTRUSTED.has(code)) {
    return `TLS refused: the server's certificate is not trusted (${message}): pass its CA with --ca FILE, or --insecure to skip the check`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `TLS refused: the server's certificate is not for "${ctx.host}" (${message})`;
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    return 'TLS refused: the server does not speak TLS (drop --tls and the other TLS flags)';
  }
  if (/^ERR_SSL_.*ALERT/.test(code)) {
    const needsCert = /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA/.test(code);
    return `TLS refused by the server (${message})${needsCert ? ': does it want a client certificate (--cert and --key)?' : ''}`;
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return `TLS handshake failed: ${message}`;
  if (ctx.tls && ctx.handshaking && /before secure TLS connection/.test(message)) {
    return 'TLS refused: the server ended the connection during the TLS handshake (does it speak TLS?)';
  }
  return undefined;
}

/** OpenSSL's messages carry their routing ("...:SSL routines:ssl3_get_record:wrong version number:..."). */
function firstLine(message: string): string {
  const line = message.split('\n')[0]!.trim();
  const ssl = /:SSL routines:[^:]*:([^:]+)/.exec(line);
  return ssl ? ssl[1]! : line;
}

/** The first bytes a non-lifeline peer sent, as text when they are text ("HTTP/1.1"), else as hex. */
function printable(hex: string): string {
  const bytes = Buffer.from(hex.replace(/ /g, ''), 'hex');
  const text = bytes.toString('latin1');
  if (/^[\x20-\x7e\r\n]+$/.test(text)) {
    const http = /^HTTP\/\d/.test(text) ? ' (an HTTP server)' : '';
    return `"${text.trim()}…"${http}`;
  }
  return `bytes ${hex.trim()}`;
}
