// setKeepAlive/getKeepAlive on real kernel sockets: set, then read back from the kernel, on client,
// accepted, TLS and still-connecting sockets, through whichever backend this Node uses.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { LifelineError, SocketOptionError } from '../../src/errors.js';
import { requireFfi, setInt } from '../../src/keepalive/ffi.js';
import {
  getKeepAlive,
  type KeepAliveSettings,
  keepAliveBackend,
  setKeepAlive,
  systemKeepAlive,
} from '../../src/keepalive/index.js';
import { selfSigned } from '../helpers/certs.js';
import { server, tcpPair, tlsPair, within } from './sockets.js';

const linux = process.platform === 'linux';

const FULL = { idle: 3000, interval: 2000, count: 4, userTimeout: 7000 };
const FULL_SETTINGS: KeepAliveSettings = { enabled: true, ...FULL };

describe('setKeepAlive / getKeepAlive on real sockets', { skip: !linux && 'only Linux is tested' }, () => {
  test('sets every option on a client socket and getKeepAlive reads the same back', async () => {
    const pair = await tcpPair();
    try {
      assert.deepEqual(setKeepAlive(pair.client, FULL), FULL_SETTINGS);
      assert.deepEqual(getKeepAlive(pair.client), FULL_SETTINGS);
      // The other end is a different socket: untouched.
      assert.equal(getKeepAlive(pair.accepted).enabled, false);
    } finally {
      pair.close();
    }
  });

  test('sets every option on an accepted socket', async () => {
    const pair = await tcpPair();
    try {
      const wanted = { idle: 10_000, interval: 5000, count: 127, userTimeout: 2 ** 31 - 1 };
      assert.deepEqual(setKeepAlive(pair.accepted, wanted), { enabled: true, ...wanted });
      assert.deepEqual(getKeepAlive(pair.accepted), { enabled: true, ...wanted });
    } finally {
      pair.close();
    }
  });

  test('rounds idle and interval up to whole seconds and returns what the kernel holds', async () => {
    const pair = await tcpPair();
    try {
      assert.deepEqual(
        setKeepAlive(pair.client, { idle: 1, interval: 1001, count: 1, userTimeout: 1500.5 }),
        {
          enabled: true,
          idle: 1000,
          interval: 2000,
          count: 1,
          userTimeout: 1501,
        },
      );
      assert.deepEqual(setKeepAlive(pair.client, { idle: 32_767_000, interval: 59_999 }), {
        enabled: true,
        idle: 32_767_000,
        interval: 60_000,
        count: 1,
        userTimeout: 1501,
      });
    } finally {
      pair.close();
    }
  });

  test('leaves omitted options as the socket holds them (the machine defaults on a fresh socket)', async () => {
    const pair = await tcpPair();
    try {
      const system = systemKeepAlive();
      assert.deepEqual(setKeepAlive(pair.client, { idle: 5000 }), {
        enabled: true,
        idle: 5000,
        interval: system.interval,
        count: system.count,
        userTimeout: 0,
      });
      setKeepAlive(pair.client, FULL);
      assert.deepEqual(setKeepAlive(pair.client, { idle: 9000 }), { ...FULL_SETTINGS, idle: 9000 });
    } finally {
      pair.close();
    }
  });

  test('false turns SO_KEEPALIVE off and resets TCP_USER_TIMEOUT, and keepalive can be turned on again', async () => {
    const pair = await tcpPair();
    try {
      setKeepAlive(pair.client, FULL);
      assert.deepEqual(setKeepAlive(pair.client, false), {
        ...FULL_SETTINGS,
        enabled: false,
        userTimeout: 0,
      });
      assert.deepEqual(getKeepAlive(pair.client), { ...FULL_SETTINGS, enabled: false, userTimeout: 0 });
      // The same values again: Node's own setKeepAlive caches what it last set, this must not be skipped.
      assert.deepEqual(setKeepAlive(pair.client, FULL), FULL_SETTINGS);
    } finally {
      pair.close();
    }
  });

  test('reaches the TCP socket under a TLS socket, on both ends', async (t) => {
    const credentials = selfSigned(t);
    if (!credentials) return;
    const pair = await tlsPair(credentials);
    try {
      assert.deepEqual(setKeepAlive(pair.client, FULL), FULL_SETTINGS);
      assert.deepEqual(getKeepAlive(pair.client), FULL_SETTINGS);
      const other = { idle: 4000, interval: 1000, count: 2, userTimeout: 0 };
      assert.deepEqual(setKeepAlive(pair.accepted, other), { enabled: true, ...other });
      assert.deepEqual(getKeepAlive(pair.accepted), { enabled: true, ...other });
    } finally {
      pair.close();
    }
  });

  test('reaches the TCP socket under tls.connect({ socket }) given a socket that is still connecting', async (t) => {
    const credentials = selfSigned(t);
    if (!credentials) return;
    const { default: tls } = await import('node:tls');
    const s = tls.createServer(credentials);
    s.listen(0, '127.0.0.1');
    await within(2000, 'listening', once(s, 'listening'));
    const raw = net.connect((s.address() as net.AddressInfo).port, '127.0.0.1');
    const secure = tls.connect({ socket: raw, ca: credentials.cert, servername: 'localhost' });
    s.on('secureConnection', (c) => c.on('error', () => {}));
    try {
      assert.deepEqual(setKeepAlive(secure, FULL), FULL_SETTINGS);
      await within(5000, 'secureConnect', once(secure, 'secureConnect'));
      assert.deepEqual(getKeepAlive(secure), FULL_SETTINGS);
      assert.deepEqual(getKeepAlive(raw), FULL_SETTINGS);
    } finally {
      secure.destroy();
      raw.destroy();
      s.close();
    }
  });

  test('applies options given to a socket that is still connecting once it connects', async () => {
    const srv = await server();
    try {
      const seen: KeepAliveSettings[] = [];
      const client = net.connect(srv.port, '127.0.0.1', () => seen.push(getKeepAlive(client)));
      assert.equal(client.connecting, true);
      assert.throws(
        () => getKeepAlive(client),
        (err: unknown) =>
          err instanceof LifelineError &&
          err.code === 'LIFELINE_SOCKET_NOT_CONNECTED' &&
          /still connecting.*after the 'connect' event/.test(err.message),
      );
      // What will be applied is returned at once; the connect callback above already sees it applied.
      assert.deepEqual(setKeepAlive(client, FULL), FULL_SETTINGS);
      await within(2000, 'connect', once(client, 'connect'));
      assert.deepEqual(seen, [FULL_SETTINGS]);
      assert.deepEqual(getKeepAlive(client), FULL_SETTINGS);
      client.destroy();
    } finally {
      srv.close();
    }
  });

  test('the last options given before the connection is established win', async () => {
    const srv = await server();
    try {
      const client = net.connect(srv.port, '127.0.0.1');
      setKeepAlive(client, FULL);
      const planned = setKeepAlive(client, false);
      assert.equal(planned.enabled, false);
      assert.equal(planned.userTimeout, 0);
      await within(2000, 'connect', once(client, 'connect'));
      assert.equal(getKeepAlive(client).enabled, false);
      client.destroy();
    } finally {
      srv.close();
    }
  });

  test('a closed socket is a LIFELINE_SOCKET_CLOSED error, not a silent no-op', async () => {
    const pair = await tcpPair();
    pair.close();
    await within(2000, 'close', once(pair.client, 'close'));
    for (const fn of [() => setKeepAlive(pair.client, FULL), () => getKeepAlive(pair.client)]) {
      assert.throws(
        fn,
        (err: unknown) => err instanceof LifelineError && err.code === 'LIFELINE_SOCKET_CLOSED',
      );
    }
  });

  test('rejects what is not a socket with a TypeError, and bad options before touching the socket', async () => {
    assert.throws(() => setKeepAlive({} as net.Socket, FULL), TypeError);
    assert.throws(() => getKeepAlive(null as unknown as net.Socket), TypeError);
    const pair = await tcpPair();
    try {
      assert.throws(() => setKeepAlive(pair.client, { idle: 0 }), RangeError);
      assert.throws(
        () => setKeepAlive(pair.client, { idle: 1000, count: 128 }),
        /count must be between 1 and 127/,
      );
      assert.equal(getKeepAlive(pair.client).enabled, false);
    } finally {
      pair.close();
    }
  });

  test('a refused setsockopt is a SocketOptionError carrying the errno', () => {
    requireFfi('test');
    assert.throws(
      () => setInt(-1, 6, 4, 10, 'TCP_KEEPIDLE'),
      (err: unknown) =>
        err instanceof SocketOptionError &&
        err.code === 'LIFELINE_SOCKOPT_FAILED' &&
        err.option === 'TCP_KEEPIDLE' &&
        err.errno === 9 &&
        /setsockopt\(TCP_KEEPIDLE = 10\) failed on fd -1: EBADF \(9\)/.test(err.message),
    );
  });
});

describe('the backend that sets the options', { skip: !linux && 'only Linux is tested' }, () => {
  // scripts/node26-tests.mjs sets LIFELINE_EXPECT_BACKEND=native; the ordinary run on Node 20 expects ffi.
  const expected =
    process.env.LIFELINE_EXPECT_BACKEND ??
    (Number(process.versions.node.split('.')[0]) < 22 ? 'ffi' : undefined);

  after(() => {
    console.log(`keepalive backend: ${keepAliveBackend().detail}`);
  });

  test('is the one expected for this Node', {
    skip: expected === undefined && 'no expectation for this Node',
  }, () => {
    const backend = keepAliveBackend();
    assert.equal(backend.ffi, true, backend.detail);
    assert.equal(backend.native ? 'native' : 'ffi', expected, backend.detail);
  });

  test("sets idle, interval and count through Node's setKeepAlive when native, never when not", async () => {
    const pair = await tcpPair();
    try {
      const calls: unknown[][] = [];
      const original = pair.client.setKeepAlive;
      pair.client.setKeepAlive = function (this: net.Socket, ...args: unknown[]) {
        calls.push(args);
        return (original as (...a: unknown[]) => net.Socket).apply(this, args);
      };
      const { native, fallbacks } = keepAliveBackend();
      assert.deepEqual(setKeepAlive(pair.client, FULL), FULL_SETTINGS);
      assert.deepEqual(setKeepAlive(pair.client, false), {
        ...FULL_SETTINGS,
        enabled: false,
        userTimeout: 0,
      });
      assert.deepEqual(setKeepAlive(pair.client, { idle: 5000 }), {
        ...FULL_SETTINGS,
        idle: 5000,
        userTimeout: 0,
      });
      if (native) {
        // Whole seconds in ms, and interval/count passed explicitly even when omitted (else Node picks 1 s/10).
        assert.deepEqual(calls, [[true, 3000, 2000, 4], [false], [true, 5000, 2000, 4]]);
        // The kernel agreed every time: the FFI did not have to step in.
        assert.equal(keepAliveBackend().fallbacks, fallbacks);
      } else {
        assert.deepEqual(calls, []);
      }
    } finally {
      pair.close();
    }
  });
});
