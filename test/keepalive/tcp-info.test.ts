// tcpInfo on real loopback connections: the kernel's own view, decoded from struct tcp_info.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, test } from 'node:test';
import { tcpInfo } from '../../src/keepalive/index.js';
import { selfSigned } from '../helpers/certs.js';
import { server, tcpPair, tlsPair, within } from './sockets.js';

describe('tcpInfo', { skip: process.platform !== 'linux' && 'TCP_INFO is decoded on Linux only' }, () => {
  test('reports an idle established loopback connection plausibly', async () => {
    const pair = await tcpPair();
    try {
      pair.client.write('ping');
      await within(2000, 'data', once(pair.accepted, 'data'));
      pair.accepted.write('pong');
      await within(2000, 'data', once(pair.client, 'data'));
      const info = tcpInfo(pair.client);
      assert.ok(info);
      assert.equal(info.state, 'ESTABLISHED');
      assert.equal(info.stateCode, 1);
      assert.ok(info.rtt >= 0 && info.rtt < 1000, `rtt ${info.rtt} ms`);
      assert.ok(info.rttvar >= 0 && info.rttvar < 1000, `rttvar ${info.rttvar} ms`);
      assert.ok(info.rto >= 200 && info.rto <= 120_000, `rto ${info.rto} ms`);
      assert.equal(info.unacked, 0);
      assert.equal(info.retransmits, 0);
      assert.equal(info.probes, 0);
      assert.equal(info.backoff, 0);
      assert.equal(info.lost, 0);
      assert.equal(info.totalRetrans, 0);
      for (const age of [info.lastDataSentMs, info.lastDataReceivedMs, info.lastAckReceivedMs]) {
        assert.ok(age >= 0 && age < 5000, `age ${age} ms`);
      }
      assert.ok(info.sndMss > 0 && info.pmtu > 0 && info.sndCwnd > 0);
    } finally {
      pair.close();
    }
  });

  test('reads the TCP socket under a TLS socket', async (t) => {
    const credentials = selfSigned(t);
    if (!credentials) return;
    const pair = await tlsPair(credentials);
    try {
      assert.equal(tcpInfo(pair.client)?.state, 'ESTABLISHED');
      assert.equal(tcpInfo(pair.accepted)?.state, 'ESTABLISHED');
    } finally {
      pair.close();
    }
  });

  test('is undefined for a socket without a file descriptor (connecting or closed)', async () => {
    const srv = await server();
    try {
      const client = net.connect(srv.port, '127.0.0.1');
      assert.equal(tcpInfo(client), undefined);
      await within(2000, 'connect', once(client, 'connect'));
      assert.equal(tcpInfo(client)?.state, 'ESTABLISHED');
      client.destroy();
      await within(2000, 'close', once(client, 'close'));
      assert.equal(tcpInfo(client), undefined);
    } finally {
      srv.close();
    }
  });
});
