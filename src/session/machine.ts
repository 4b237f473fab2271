// Guarded state transitions (after grpc-js's Subchannel.transitionToState): every state machine of lifeline
// declares its legal moves in one table, and every change of state goes through step(), which refuses any
// other. An illegal move is a bug in lifeline, never something a peer can cause: it throws at once.

/** For each state, the states it may move to. */
export type Transitions<S extends string> = { readonly [From in S]: readonly S[] };

/** Returns `to` if `machine` may move from `from` to `to`; throws an internal error otherwise. */
export function step<S extends string>(machine: string, table: Transitions<S>, from: S, to: S): S {
  if (!table[from].includes(to)) {
    throw new Error(`lifeline internal error: ${machine} cannot move from '${from}' to '${to}'`);
  }
  return to;
}
