// The sweep on its own: members visited once per tick with the tick's lateness, and members that leave
// during a tick (themselves or others) neither break the tick nor get skipped.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { systemClock } from '../../src/session/clock.js';
import { Sweep, type SweepMember } from '../../src/session/sweep.js';
import { within } from '../helpers/wait.js';

class Member implements SweepMember {
  sweepIndex = -1;
  visits: number[] = [];
  constructor(
    readonly name: string,
    private readonly onVisit: (m: Member, lateMs: number) => void = () => {},
  ) {}
  onSweep(_now: number, lateMs: number): void {
    this.visits.push(lateMs);
    this.onVisit(this, lateMs);
  }
}

describe('Sweep', () => {
  test('visits every member once per tick, and stops when the last one leaves', async () => {
    const sweep = new Sweep(20, systemClock);
    let tick!: () => void;
    const ticked = new Promise<void>((resolve) => {
      tick = resolve;
    });
    const members = ['a', 'b', 'c'].map((name) => new Member(name, name === 'a' ? () => tick() : undefined));
    for (const m of members) sweep.add(m);
    sweep.add(members[0]!); // already a member: no second place
    assert.equal(sweep.size, 3);
    await within(1000, 'a sweep tick', ticked);
    for (const m of members) {
      assert.equal(m.visits.length, 1, `${m.name} visited once`);
      assert.ok(m.visits[0]! < 100, `a tick on an idle loop is not late (${m.visits[0]} ms)`);
    }
    for (const m of members) sweep.remove(m);
    assert.equal(sweep.size, 0);
    assert.deepEqual(
      members.map((m) => m.sweepIndex),
      [-1, -1, -1],
    );
  });

  test('members leaving during a tick, themselves or others, leave the rest visited', async () => {
    const sweep = new Sweep(20, systemClock);
    let done!: () => void;
    const ticked = new Promise<void>((resolve) => {
      done = resolve;
    });
    const members: Member[] = [];
    // Visited from the last index down: e3 removes e1 (not yet visited: the last one takes its place),
    // e2 removes itself.
    members.push(new Member('e0', () => done()));
    members.push(new Member('e1'));
    members.push(new Member('e2', (m) => sweep.remove(m)));
    members.push(new Member('e3', () => sweep.remove(members[1]!)));
    for (const m of members) sweep.add(m);
    await within(1000, 'a sweep tick', ticked);
    assert.equal(members[1]!.visits.length, 0, 'e1 left before its turn');
    for (const i of [0, 2, 3]) assert.ok(members[i]!.visits.length >= 1, `e${i} visited`);
    assert.equal(sweep.size, 2);
    for (const m of members) sweep.remove(m);
    assert.equal(sweep.size, 0);
  });
});
