// setsockopt/getsockopt through koffi, loaded lazily and once, so that importing lifeline never fails on a
// platform where the FFI cannot load. Never retries a failed call, never swallows an errno: a failure is a
// SocketOptionError naming the option, and an FFI that did not load is an UnsupportedError naming it too.
import { createRequire } from 'node:module';
import { SocketOptionError, UnsupportedError } from '../errors.js';
import { type PlatformOptions, platformOptions } from './constants.js';

type Koffi = typeof import('koffi').default;
// koffi functions are untyped at the boundary; these are the C prototypes declared in load().
type SetSockOpt = (fd: number, level: number, name: number, value: Buffer, length: number) => number;
type GetSockOpt = (fd: number, level: number, name: number, value: Buffer, length: Buffer) => number;
type Socket = (domain: number, type: number, protocol: number) => number;
type Close = (fd: number) => number;

/** The loaded C functions and this platform's option numbers. Module-level singletons. */
export interface Ffi {
  readonly options: PlatformOptions;
  readonly library: string;
}

interface Loaded extends Ffi {
  readonly koffi: Koffi;
  readonly setsockopt: SetSockOpt;
  readonly getsockopt: GetSockOpt;
  readonly socket: Socket;
  readonly close: Close;
}

let loaded: Loaded | undefined;
let loadError: string | undefined;

// Preallocated for every call: an int value, a socklen_t length, and room for struct tcp_info (Linux 6.x
// fills about 250 bytes; the kernel copies min(len, sizeof) so a shorter buffer is never overrun).
const intBuffer = Buffer.alloc(4);
const lengthBuffer = Buffer.alloc(4);
export const TCP_INFO_BUFFER = Buffer.alloc(256);

function load(): Loaded | undefined {
  if (loaded !== undefined || loadError !== undefined) return loaded;
  const options = platformOptions();
  if (options === undefined) {
    loadError = `lifeline carries no socket option numbers for ${process.platform}`;
    return undefined;
  }
  let koffi: Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (err) {
    loadError = `the koffi FFI module did not load: ${(err as Error).message}`;
    return undefined;
  }
  const failures: string[] = [];
  for (const library of options.libc) {
    try {
      const lib = koffi.load(library);
      loaded = {
        options,
        library,
        koffi,
        setsockopt: lib.func(
          'int setsockopt(int fd, int level, int name, const void *value, uint32_t length)',
        ),
        getsockopt: lib.func('int getsockopt(int fd, int level, int name, void *value, void *length)'),
        socket: lib.func('int socket(int domain, int type, int protocol)'),
        close: lib.func('int close(int fd)'),
      };
      return loaded;
    } catch (err) {
      failures.push(`${library}: ${(err as Error).message}`);
    }
  }
  loadError = `no C library could be loaded through koffi (${failures.join('; ')})`;
  return undefined;
}

/** The FFI when it loaded, undefined otherwise (see ffiUnavailableReason()). */
export function ffi(): Ffi | undefined {
  return load();
}

/** Why the FFI is unavailable, or undefined when it loaded. Loads it first if needed. */
export function ffiUnavailableReason(): string | undefined {
  load();
  return loadError;
}

/** The FFI, or an UnsupportedError saying that `what` (e.g. "set TCP_USER_TIMEOUT") cannot be done. */
export function requireFfi(what: string): Ffi {
  const f = load();
  if (f === undefined) throw new UnsupportedError(`lifeline cannot ${what}: ${loadError}`);
  return f;
}

/** setsockopt(fd, level, name, &int, 4); throws a SocketOptionError with the errno when it fails. */
export function setInt(fd: number, level: number, name: number, value: number, option: string): void {
  const f = loaded!;
  intBuffer.writeInt32LE(value, 0);
  if (f.setsockopt(fd, level, name, intBuffer, 4) !== 0) {
    const errno = f.koffi.errno();
    throw new SocketOptionError(
      option,
      `setsockopt(${option} = ${value}) failed on fd ${fd}: ${errnoText(errno)}`,
      errno,
    );
  }
}

/** getsockopt(fd, level, name) for an int option; throws a SocketOptionError with the errno when it fails. */
export function getInt(fd: number, level: number, name: number, option: string): number {
  const f = loaded!;
  lengthBuffer.writeUInt32LE(4, 0);
  if (f.getsockopt(fd, level, name, intBuffer, lengthBuffer) !== 0) {
    const errno = f.koffi.errno();
    throw new SocketOptionError(
      option,
      `getsockopt(${option}) failed on fd ${fd}: ${errnoText(errno)}`,
      errno,
    );
  }
  return intBuffer.readInt32LE(0);
}

/** Reads struct tcp_info into TCP_INFO_BUFFER; returns the bytes the kernel wrote, or -1 on failure. */
export function readTcpInfo(fd: number, tcpInfoOption: number, ipprotoTcp: number): number {
  const f = loaded!;
  lengthBuffer.writeUInt32LE(TCP_INFO_BUFFER.length, 0);
  if (f.getsockopt(fd, ipprotoTcp, tcpInfoOption, TCP_INFO_BUFFER, lengthBuffer) !== 0) return -1;
  return lengthBuffer.readUInt32LE(0);
}

/**
 * Runs `read` on a fresh, unconnected TCP socket and closes it: a new socket holds the machine's defaults,
 * which is how they are read where there is no /proc/sys (macOS, FreeBSD).
 */
export function withFreshSocket<T>(read: (fd: number) => T): T {
  const f = loaded!;
  const fd = f.socket(f.options.AF_INET, f.options.SOCK_STREAM, 0);
  if (fd < 0) {
    const errno = f.koffi.errno();
    throw new SocketOptionError('socket', `socket(AF_INET, SOCK_STREAM) failed: ${errnoText(errno)}`, errno);
  }
  try {
    return read(fd);
  } finally {
    f.close(fd);
  }
}

let errnoNames: Map<number, string> | undefined;

function errnoText(errno: number): string {
  if (errnoNames === undefined) {
    errnoNames = new Map();
    for (const [name, value] of Object.entries(loaded!.koffi.os.errno)) {
      if (!errnoNames.has(value)) errnoNames.set(value, name);
    }
  }
  return `${errnoNames.get(errno) ?? 'errno'} (${errno})`;
}
