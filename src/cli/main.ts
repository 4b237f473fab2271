#!/usr/bin/env node
// The lifeline command: dispatches to a command, answers --help, turns usage errors into exit status 2
// with one line on stderr that names the flag, and any other failure into one clear line and status 1.
import { UsageError } from './args.js';
import { connect } from './connect.js';
import { demo } from './demo.js';
import { doctor } from './doctor.js';
import { HELP } from './help.js';
import { keepalive } from './keepalive.js';
import { ping } from './ping.js';
import { serve } from './serve.js';

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  serve,
  connect,
  ping,
  keepalive,
  doctor,
  demo,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' && rest[0] !== undefined ? HELP[rest[0]] : undefined;
    process.stdout.write(`${topic ?? HELP.lifeline}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (command === undefined) throw new UsageError(`unknown command "${name}" (try lifeline --help)`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${HELP[name]}\n`);
    return 0;
  }
  return command(rest);
}

// A reader that went away (`lifeline serve | head`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

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
