// The diagnosis of a heartbeat death from the kernel's view (TCP_INFO), as a table: unacknowledged segments
// mean the network; everything acknowledged (zero-window probes included) means the peer's program.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TcpInfo } from '../../src/keepalive/index.js';
import { diagnose } from '../../src/session/death.js';

function info(fields: Partial<TcpInfo>): TcpInfo {
  return { lastAckReceivedMs: 0, unacked: 0, probes: 0, ...fields } as TcpInfo;
}

describe('diagnose', () => {
  const cases: Array<[string, TcpInfo | undefined, string]> = [
    [
      'a partition: our PINGs unacknowledged, no ACK for the whole silence',
      info({ lastAckReceivedMs: 1000, unacked: 2 }),
      'network',
    ],
    [
      'a dead host: segments retransmitted in vain',
      info({ lastAckReceivedMs: 5000, unacked: 2, probes: 2 }),
      'network',
    ],
    [
      'a hung peer (SIGSTOP): its kernel ACKs our PINGs',
      info({ lastAckReceivedMs: 40, unacked: 0 }),
      'peer-unresponsive',
    ],
    [
      'a reader that stopped while we streamed, as Linux shows it: all acknowledged, zero-window probes counted',
      info({ lastAckReceivedMs: 744, unacked: 0, probes: 3 }),
      'peer-unresponsive',
    ],
    ['everything acknowledged long ago', info({ lastAckReceivedMs: 900, unacked: 0 }), 'peer-unresponsive'],
    [
      'a peer that stalled (its kernel ACKed recently) and was then cut off: our PINGs since are unacknowledged',
      info({ lastAckReceivedMs: 300, unacked: 2 }),
      'network',
    ],
    ['no TCP_INFO', undefined, 'unknown'],
  ];
  for (const [name, kernel, expected] of cases) {
    test(`${name}: ${expected}`, () => assert.equal(diagnose(kernel), expected));
  }
});
