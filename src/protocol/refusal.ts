// What a lifeline port makes of a peer that does not open with the preface, and the plain HTTP answer it
// gives to a browser or curl. Pure: no sockets, no timers, no clock.
import { MAGIC, VERSION } from './constants.js';
import { HTTP_METHODS } from './layout.js';

/** How many leading bytes a refusal looks at: enough for a request line's start, few enough to log. */
export const SNIFF_LENGTH = 48;
/** How many of them a refusal shows in hex. */
const HEX_SHOWN = 8;
/** A TLS record of type handshake (a ClientHello) starts with 0x16, then the major version 0x03. */
const TLS_HANDSHAKE = 0x16;

/**
 * Whether `head`, the first bytes a peer sent, is consistent with an HTTP request line: it starts with
 * "METHOD " or is a prefix of it. Decided on what has arrived, so that the refusal is never delayed: an
 * HTTP client writes its request line in one segment, so in practice `head` holds the whole method.
 */
export function looksLikeHttp(head: Uint8Array): boolean {
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1');
  return HTTP_METHODS.some((method) => {
    const line = `${method} `;
    return text.length >= line.length ? text.startsWith(line) : line.startsWith(text);
  });
}

/** A readable reason for a preface mismatch, from the first (up to SNIFF_LENGTH) bytes the peer sent. */
export function describeBadPreface(head: Uint8Array, http: boolean): string {
  if (http) {
    const firstLine =
      Buffer.from(head)
        .toString('latin1')
        .split(/[\r\n]/)[0] ?? '';
    const shown = firstLine.replace(/[^\x20-\x7e]/g, '?');
    return `peer sent an HTTP request ("${shown}...") where the lifeline preface was expected`;
  }
  if (head[0] === TLS_HANDSHAKE) {
    return 'peer began what looks like a TLS handshake where the lifeline preface was expected (TLS on one end only?)';
  }
  return `expected the lifeline preface ${hex(MAGIC)} ${hex([VERSION])}, got ${hex(head.subarray(0, HEX_SHOWN))}`;
}

/** The peer's preface carried a version this end does not speak. */
export function describeBadVersion(version: number): string {
  return `peer speaks lifeline protocol version ${version}; this end speaks only version ${VERSION}`;
}

const HTTP_REFUSAL_BODY =
  'This is a lifeline port: it speaks the lifeline heartbeat protocol (binary, see docs/PROTOCOL.md), not HTTP.\n';

/**
 * The complete answer to an HTTP request on a lifeline port: `HTTP/1.1 400 Bad Request` with a plain-text
 * body saying what the port is. The connection is closed after it is written.
 */
export function encodeHttpRefusal(): Buffer {
  const body = Buffer.from(HTTP_REFUSAL_BODY, 'utf8');
  const head =
    'HTTP/1.1 400 Bad Request\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${body.length}\r\n` +
    'Connection: close\r\n' +
    '\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

function hex(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}
