// The memory store's contract, which a shared store must keep too: take() claims a record for its identity
// only, delete() with the epoch the caller recorded forgets only a record of that epoch, and save() never
// goes back to an older epoch.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemorySessionStore, type SessionRecord } from '../../src/server/store.js';

function record(fields: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: 'abcd0123',
    epoch: 1,
    token: '00'.repeat(16),
    identity: 'alice',
    interval: 1000,
    timeout: 3000,
    receivedSeq: 5,
    nextSeq: 1,
    unacked: [],
    ...fields,
  };
}

describe('MemorySessionStore', () => {
  test('take() gives the record to its identity only, and only once', () => {
    const store = new MemorySessionStore();
    store.save(record(), 10_000);
    assert.equal(store.take(record().token, 'mallory'), undefined);
    assert.equal(store.size, 1, 'a stranger cannot destroy it');
    assert.equal(store.take(record().token, 'alice')?.receivedSeq, 5);
    assert.equal(store.take(record().token, 'alice'), undefined);
    assert.equal(store.size, 0);
  });

  test('delete() with the epoch this server recorded spares a record another server saved since', () => {
    const store = new MemorySessionStore();
    const mine = record();
    store.save(record({ epoch: 2, receivedSeq: 9, nextSeq: 3 }), 10_000); // the session went on elsewhere
    store.delete(mine.token, { epoch: mine.epoch });
    assert.equal(store.size, 1, "another server's newer record is kept");
    store.delete(mine.token, { epoch: 2 });
    assert.equal(store.size, 0, 'the record in the expected state is forgotten');
    store.save(mine, 10_000);
    store.delete(mine.token);
    assert.equal(store.size, 0, 'without an expected state, delete() is unconditional');
  });

  test('save() never replaces a record with an older one (a late save from a server that lost the session)', () => {
    const store = new MemorySessionStore();
    store.save(record({ epoch: 3, receivedSeq: 9 }), 10_000);
    store.save(record({ epoch: 2, receivedSeq: 4 }), 10_000);
    assert.equal(store.take(record().token, 'alice')?.receivedSeq, 9);
    store.save(record({ epoch: 3, receivedSeq: 9 }), 10_000);
    store.save(record({ epoch: 4, receivedSeq: 12 }), 10_000);
    assert.equal(store.take(record().token, 'alice')?.receivedSeq, 12, 'a newer one replaces it');
  });
});
