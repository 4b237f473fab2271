// The --help text of every command. Kept next to each other so that they read alike.

const HEARTBEAT = `heartbeat flags:
  --interval D          silence before a PING is sent (default 5s)
  --timeout D           silence after which the peer is declared dead (default 3 intervals)
  --detector KIND       deadline (dead after --timeout, never sooner) or phi (accrual, bounded by --timeout)`;

const KEEPALIVE = `keepalive flags (kernel TCP keepalive; default: derived from the heartbeat):
  --keepalive-idle D      silence before the first probe (TCP_KEEPIDLE)
  --keepalive-interval D  time between unanswered probes (TCP_KEEPINTVL)
  --keepalive-count N     unanswered probes before the kernel gives up (TCP_KEEPCNT), 1-127
  --user-timeout D        longest time sent data may stay unacknowledged (TCP_USER_TIMEOUT)`;

const CLIENT_TLS = `TLS and credentials (any TLS flag turns TLS on):
  --tls                 speak TLS, trusting the system's certificate authorities
  --ca FILE             trust the CA (or self-signed certificate) in FILE (PEM)
  --cert FILE --key FILE  present this client certificate and its private key (PEM)
  --insecure            do not check the server's certificate (encrypted, not authenticated)
  --credentials STRING  sent in HELLO for the server's authenticate() (serve --credentials)`;

const SERVER_TLS = `TLS and credentials:
  --cert FILE --key FILE  speak TLS with this certificate and private key (PEM); --tls alone is not enough
  --ca FILE             require a client certificate signed by the CA in FILE
  --insecure            with --ca: ask for a client certificate but accept one that does not verify
  --credentials STRING  accept only clients that present exactly STRING (connect --credentials)`;

const DURATIONS = 'durations take a unit: 250ms, 5s, 1.5s, 2m, 1h (a bare number means milliseconds)';

export const HELP: Record<string, string> = {
  lifeline: `usage: lifeline <command> [flags]       (lifeline <command> --help for more; --version)

commands:
  serve     [--host H] [--port P] [heartbeat flags] [keepalive flags] [tls flags] [--echo] [--http PORT] [--json]
  connect   HOST:PORT [heartbeat flags] [keepalive flags] [tls flags] [--no-heartbeat] [--no-reconnect] [--json]
  ping      HOST:PORT [-c COUNT] [-i INTERVAL] [tls flags] [--json]
  keepalive [keepalive flags] [--json]      explains the settings and the worst-case detection time
  doctor    [--json]                        the machine's keepalive defaults and what they mean
  demo      [--port P] [--http PORT]        a server, a dashboard and clients that hang and die

heartbeat flags: --interval D  --timeout D  --detector deadline|phi
keepalive flags: --keepalive-idle D --keepalive-interval D --keepalive-count N --user-timeout D
tls flags:       --tls  --ca FILE  --cert FILE  --key FILE  --insecure  --credentials STRING
${DURATIONS}`,

  serve: `usage: lifeline serve [--host H] [--port P] [heartbeat flags] [keepalive flags] [tls flags] [--echo] [--http PORT [--http-host H] [--http-token T]] [--json]

A lifeline heartbeat server. On a terminal it shows a live table of its sessions (RTT, time since last
heard, what the failure detector thinks, messages in/out) and a line for every death with its cause and
diagnosis, and for every connection it refused; otherwise one line per event. Every message received is
printed. A port it cannot have ends it (exit status 1).

  --host H        address to listen on (default 0.0.0.0)
  --port P, -p P  port to listen on (default 7070; 0 picks a free one)
  --echo          send every message back to its sender
  --http PORT     also serve Prometheus metrics at /metrics and a live dashboard at / on PORT, behind a
                  token printed in the dashboard's address (scrapers: Authorization: Bearer TOKEN);
                  needs the optional packages prom-client and uplot (npm install prom-client uplot)
  --http-host H   address the dashboard listens on (default 127.0.0.1: this machine only)
  --http-token T  the dashboard's token, 16 characters or more (default: a new one at each start;
                  none: no token, only behind a proxy that authenticates)
  --json          one JSON object per line on stdout (events: listening, http, session, rtt, message,
                  dead, resumed, closed, error), each with a monotonic "t" in ms

${HEARTBEAT}

${KEEPALIVE}

${SERVER_TLS}

${DURATIONS}`,

  connect: `usage: lifeline connect HOST:PORT [heartbeat flags] [keepalive flags] [tls flags] [--no-heartbeat] [--no-reconnect] [--json]

netcat that knows when its peer dies: each line of standard input is sent as one message, each message
received is written to standard output, and status (connected, dead and why, reconnecting and why the last
attempt failed, resumed) goes to standard error. After a death it reconnects and resumes the session without
losing a message. Ctrl-C (or the end of standard input) waits for what was sent to be acknowledged, says
goodbye (GOAWAY normal) and exits; a second Ctrl-C quits at once.

  --no-reconnect  stop at the first death (exit status 1) or failed connection
  --no-heartbeat  send no PINGs: only kernel keepalive (the --keepalive-* flags) watches the peer, and its
                  verdict is reported as keepalive-timeout
  --json          one JSON object per line on stdout (events: connected, rtt, message, dead, reconnecting
                  (with reason and code), resumed, unconfirmed, closed, error), each with a monotonic "t" in ms

${HEARTBEAT}

${KEEPALIVE}

${CLIENT_TLS}

${DURATIONS}`,

  ping: `usage: lifeline ping HOST:PORT [-c COUNT] [-i INTERVAL] [tls flags] [--json]

Like ping(8) over a lifeline session: connects once, sends a PING every INTERVAL and prints the round-trip
time of each answer and a line for each PING still unanswered an INTERVAL later, then (after COUNT pings,
or on Ctrl-C) sent/answered/lost and min/avg/max/mdev. When PINGs went unanswered on a connection that is
still up, a diagnosis from the kernel's view: peer-unresponsive (its kernel acknowledged the PINGs, its
program did not answer) or network (they are not getting through).
Exit status 0 when at least one PING was answered, 1 otherwise.

  -c, --count N        stop after N PINGs (default: until Ctrl-C)
  -i, --interval D     time between PINGs (default 1s; at least 100ms: a server allows 10 PINGs per second)
  --json               one JSON object per line: connected, rtt (ms, seq) per answer, unanswered (seq,
                       waitedMs) per PING left without one, summary (with diagnosis), closed

${CLIENT_TLS}

${DURATIONS}`,

  keepalive: `usage: lifeline keepalive [keepalive flags] [--json]

Explains kernel TCP keepalive settings: what each knob does, the worst-case time until a peer that vanished
silently is noticed, and warnings for risky values (idle above common NAT timeouts, a single probe, a user
timeout that cuts probing short or is missing). Flags not given are this machine's defaults; with no flags
at all it explains the defaults.

  --json    print one JSON object (event "keepalive") instead

${KEEPALIVE}

${DURATIONS}
example: lifeline keepalive --keepalive-idle 60s --keepalive-interval 180s --keepalive-count 5   (16 min)`,

  doctor: `usage: lifeline doctor [--json]

Shows this machine's kernel keepalive defaults and their worst-case detection time, whether lifeline sets
keepalive through Node's own setKeepAlive or its FFI path, the Node.js version, and what to change for a
typical NAT or load balancer idle timeout.

  --json    print one JSON object (event "doctor") instead`,

  demo: `usage: lifeline demo [--port P] [--http PORT]

Shows what lifeline does, in a minute: starts a server with the live dashboard (its URL is printed) and a
handful of clients in child processes (interval 1 s, timeout 3 s). Then it hangs one client (SIGSTOP: its
kernel still answers, only the heartbeat notices: heartbeat-timeout, peer-unresponsive), kills another
(closed at once), lets the hung one continue (it reconnects and resumes its session) and starts a new one,
again and again until Ctrl-C. Needs no root.

  --port P     heartbeat server port (default: a free one)
  --http PORT  dashboard and metrics port (default 7080, or a free one if taken)`,
};
