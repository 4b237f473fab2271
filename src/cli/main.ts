#!/usr/bin/env node
// The lifeline command: dispatches to a command, turns usage errors into exit status 2 with one line on
// stderr that names the flag, and any other failure into one clear line and status 1.
import { UsageError } from './args.js';
import { connect } from './connect.js';
import { serve } from './serve.js';

const commands: Record<string, (argv: string[]) => Promise<number>> = { serve, connect };

const USAGE = `usage: lifeline <command> [flags]

commands:
  serve     [--host H] [--port P] [heartbeat flags] [keepalive flags] [--echo] [--http PORT] [--json]
  connect   HOST:PORT [heartbeat flags] [keepalive flags] [--no-heartbeat] [--no-reconnect] [--json]

heartbeat flags: --interval D  --timeout D  --detector deadline|phi
keepalive flags: --keepalive-idle D --keepalive-interval D --keepalive-count N --user-timeout D
durations take a unit (250ms, 5s, 2m, 1h); a bare number means milliseconds`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (command === undefined) throw new UsageError(`unknown command "${name}" (try lifeline --help)`);
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`lifeline: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof TypeError || err instanceof RangeError) {
      // An option the library refused: still the user's flag.
      process.stderr.write(`lifeline: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`lifeline: ${(err as Error).message ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
