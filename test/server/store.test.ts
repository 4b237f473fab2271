// The memory store's contract, which a shared store must keep too: take() claims a record for its identity
// only, and delete() with the state the caller recorded forgets only a record in that state.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemorySessionStore, type SessionRecord } from '../../src/server/store.js';

function record(fields: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: 'abcd0123',
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

  test('delete() with the state this server recorded spares a record another server saved since', () => {
    const store = new MemorySessionStore();
    const mine = record();
    store.save(record({ receivedSeq: 9, nextSeq: 3 }), 10_000); // the session went on elsewhere
    store.delete(mine.token, { receivedSeq: mine.receivedSeq, nextSeq: mine.nextSeq });
    assert.equal(store.size, 1, "another server's newer record is kept");
    store.delete(mine.token, { receivedSeq: 9, nextSeq: 3 });
    assert.equal(store.size, 0, 'the record in the expected state is forgotten');
    store.save(mine, 10_000);
    store.delete(mine.token);
    assert.equal(store.size, 0, 'without an expected state, delete() is unconditional');
  });
});
