#!/usr/bin/env node
// The lifeline command: dispatches to a command, answers --help and --version, turns usage errors into exit
// status 2 with one line on stderr that names the flag (and a "did you mean" when one is close), and any
// other failure into one clear line and status 1 — printed once: on stderr, or as a JSON `error` event with
// --json. Then it exits, whatever is still open.
import { readFileSync } from 'node:fs';
import { closest, UsageError } from './args.js';
import { connect } from './connect.js';
import { demo } from './demo.js';
import { doctor } from './doctor.js';
import { HELP } from './help.js';
import { keepalive } from './keepalive.js';
import { humanText, jsonLine } from './output.js';
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

/** The package's version (package.json sits two folders up, from src/cli and from dist/cli alike). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function unknownCommand(name: string): UsageError {
  const names = Object.keys(commands);
  if (name.startsWith('-')) {
    return new UsageError(`unknown option ${name}: a command comes first (${names.join(', ')})`);
  }
  const near = closest(name, names);
  return new UsageError(
    `unknown command "${name}"${near ? ` (did you mean ${near}?)` : ''}; commands: ${names.join(', ')}`,
  );
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`${HELP.lifeline}\n`);
    return 2;
  }
  if (name === '--version') {
    process.stdout.write(`lifeline ${version()}\n`);
    return 0;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic !== undefined && HELP[topic] === undefined) throw unknownCommand(topic);
    process.stdout.write(`${HELP[topic ?? 'lifeline']}\n`);
    return 0;
  }
  const command = commands[name];
  if (command === undefined) throw unknownCommand(name);
  if (rest.includes('--version')) {
    process.stdout.write(`lifeline ${version()}\n`);
    return 0;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${HELP[name]}\n`);
    return 0;
  }
  return command(rest);
}

/** Exits once what was written to stdout and stderr is flushed. */
function exit(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

// A reader that went away (`lifeline serve | head`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const argv = process.argv.slice(2);
main(argv).then(exit, (err: unknown) => {
  // TypeError and RangeError: an option the library refused, still the user's flag.
  const usage = err instanceof UsageError || err instanceof TypeError || err instanceof RangeError;
  const message = err instanceof Error ? err.message : String(err);
  if (!usage && argv.includes('--json')) {
    const code = (err as NodeJS.ErrnoException).code;
    process.stdout.write(jsonLine('error', { message, ...(code ? { code } : {}) }));
  } else {
    process.stderr.write(humanText(`lifeline: ${message}`));
  }
  exit(usage ? 2 : 1);
});
