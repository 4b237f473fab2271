// The simulated network between one client machine and a fleet of servers behind one address: dials that
// connect, are refused or vanish; paths that stall (a partition is a long stall); connections cut by an RST or
// by a FIN from a middlebox. Everything it does happens at virtual times chosen by the scheduler.

import { type Scheduler, SimProcess } from './scheduler.js';
import { Link, type LinkOptions, type Misuse, SimSocket } from './socket.js';

/** What a dial reaches: a server process that accepts a socket. */
export interface Listener {
  process: SimProcess;
  port: number;
  accept(socket: SimSocket): void;
}

export class Network {
  /** Path stalls: nothing travels that way before this virtual time. */
  readonly stalledUntil = { up: 0, down: 0 };
  /** Every socket ever made, and the misuses of the socket API seen. */
  readonly sockets: SimSocket[] = [];
  readonly misuses: Misuse[] = [];
  readonly links: Link[] = [];
  /** Where a dial goes (the front door's choice), or undefined: refused. */
  route: () => Listener | undefined = () => undefined;
  /** The next `refusals` dials are refused; the next `blackholes` get no answer at all. */
  refusals = 0;
  blackholes = 0;
  dials = 0;
  /** Infrastructure: never paused. */
  private readonly wire = new SimProcess('network');

  constructor(
    readonly scheduler: Scheduler,
    readonly random: () => number,
    readonly options: LinkOptions,
  ) {}

  /** A client's connect(): the socket emits 'connect', or 'error' then 'close', later. */
  dial(from: SimProcess): SimSocket {
    this.dials++;
    const client = this.socket(from, `client#${this.dials}`);
    client.connecting = true;
    const lat = this.options.latencyMs;
    const now = this.scheduler.now;
    if (this.blackholes > 0) {
      this.blackholes--;
      return client; // the SYN is lost for good: only the client's connect timeout ends this
    }
    const refuse = this.refusals > 0;
    if (refuse) this.refusals--;
    const synAt = Math.max(now + lat, this.stalledUntil.up);
    this.scheduler.at(
      this.wire,
      synAt,
      () => {
        const target = refuse ? undefined : this.route();
        const answerAt = Math.max(this.scheduler.now + lat, this.stalledUntil.down);
        if (target === undefined || client.destroyed) {
          this.scheduler.at(from, answerAt, () => client.refuse(), 'refused');
          return;
        }
        const server = this.socket(target.process, `server:${target.port}#${this.dials}`);
        this.links.push(new Link(this, client, server, this.options));
        client.connected('10.0.0.2', '10.0.0.1', target.port);
        server.connected('10.0.0.1', '10.0.0.2', client.localPort!);
        server.localPort = target.port;
        // The kernel completes the handshake even while the server process is paused; accept() waits.
        this.scheduler.at(target.process, this.scheduler.now, () => target.accept(server), 'accept');
        this.scheduler.at(from, answerAt, () => client.established(), 'connect');
      },
      'syn',
    );
    return client;
  }

  /** An RST reaches `socket` after one latency, in its process. */
  rst(socket: SimSocket): void {
    this.scheduler.at(
      socket.process,
      this.scheduler.now + this.options.latencyMs,
      () => socket.reset(),
      'rst',
    );
  }

  /** Cuts every open connection: an RST to both ends, or a middlebox's FIN to both ends after the data in flight. */
  cut(how: 'rst' | 'fin'): void {
    for (const link of this.links) {
      if (link.broken || link.done) continue;
      if (how === 'rst') {
        link.broken = true;
        link.up.clear();
        link.down.clear();
        this.rst(link.client);
        this.rst(link.server);
      } else {
        for (const dir of [link.up, link.down]) {
          dir.sendFin();
          dir.finCut = true;
        }
      }
    }
  }

  /** Holds everything travelling one way (or both) for `ms`. */
  stall(way: 'up' | 'down' | 'both', ms: number): void {
    const until = this.scheduler.now + ms;
    if (way !== 'down') this.stalledUntil.up = Math.max(this.stalledUntil.up, until);
    if (way !== 'up') this.stalledUntil.down = Math.max(this.stalledUntil.down, until);
  }

  /** Ends every stall, refusal and black hole. */
  heal(): void {
    const now = this.scheduler.now;
    this.stalledUntil.up = Math.min(this.stalledUntil.up, now);
    this.stalledUntil.down = Math.min(this.stalledUntil.down, now);
    this.refusals = 0;
    this.blackholes = 0;
    for (const link of this.links) {
      link.up.schedule();
      link.down.schedule();
    }
  }

  /** @internal */
  misuse(socket: SimSocket, what: string): void {
    // Where in lifeline it happened: the first frames of src/ on the stack.
    const where = (new Error().stack ?? '')
      .split('\n')
      .filter((line) => line.includes('/src/'))
      .slice(0, 3)
      .map((line) =>
        line
          .trim()
          .replace(/^at /, '')
          .replace(/\(?file:\/\/[^)]*\/src\//, '(src/'),
      )
      .join(' < ');
    this.misuses.push({ at: this.scheduler.now, socket: socket.label, what, where });
  }

  /** @internal */
  socketClosed(_socket: SimSocket): void {}

  private socket(process: SimProcess, label: string): SimSocket {
    const socket = new SimSocket(this, process, label);
    this.sockets.push(socket);
    return socket;
  }
}
