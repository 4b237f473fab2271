// Output hygiene (issue 12, item 4): a peer's text reaches the operator's terminal with its control
// characters shown, never obeyed; JSON output carries it unchanged (JSON.stringify escapes it).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { escapeControls } from '../../src/cli/escape.js';
import { deathLine } from '../../src/cli/table.js';
import { encodeData, encodeGoaway, encodePreface } from '../../src/protocol/index.js';
import { hello } from '../helpers/peer.js';
import { jsonLines, startCli } from './helpers.js';

/** What a hostile peer would like an operator's terminal to do: clear it, fake a line, set the clipboard. */
const EVIL =
  '\x1b[2J\x1b[H[abcd1234] closed\r\n\x1b]52;c;cm0gLXJmIH4=\x07\x1b]0;pwned\x07\u202egnp.exe\u009b31m';

/** The characters of `text` a terminal would act on, by code point (written without a regex of controls). */
function unsafe(text: string): number[] {
  const bidi = [0x061c, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e];
  return [...text]
    .map((c) => c.codePointAt(0)!)
    .filter((c) => c < 0x20 || (c >= 0x7f && c <= 0x9f) || bidi.includes(c) || (c >= 0x2066 && c <= 0x2069));
}

describe('escapeControls', () => {
  it('writes every control character, DEL, C1 and bidi override out visibly', () => {
    assert.equal(escapeControls('a\x1bb'), 'a\\x1bb');
    assert.equal(escapeControls('line\nfake'), 'line\\x0afake');
    assert.equal(escapeControls('\r\t\x00\x7f\u0085\u009b'), '\\x0d\\x09\\x00\\x7f\\x85\\x9b');
    assert.equal(escapeControls('\u202eabc\u2066\u200f'), '\\u202eabc\\u2066\\u200f');
    assert.equal(escapeControls('\u2028'), '\\u2028');
  });

  it('leaves printable text, other Unicode and backslashes as they are', () => {
    const fine = 'héllo wörld — 你好 🙂 C:\\path \\x1b (already visible)';
    assert.equal(escapeControls(fine), fine);
  });

  it('leaves nothing a terminal would act on, whatever the input, and is stable', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (text) => {
        const out = escapeControls(text);
        assert.deepEqual(unsafe(out), []);
        assert.equal(escapeControls(out), out, 'escaping twice changes nothing');
      }),
    );
  });

  it('a death line built from a peer GOAWAY reason holds no escape once escaped', () => {
    const line = escapeControls(deathLine({ cause: 'goaway', silentMs: 0, detail: `normal: ${EVIL}` }));
    assert.ok(!line.includes('\x1b') && !line.includes('\n') && !line.includes('\u202e'));
    assert.ok(line.includes('\\x1b]52;c;'), 'the attempt is shown for what it is');
  });
});

describe('lifeline serve and a hostile peer', () => {
  const children: Array<{ stop(): unknown }> = [];
  after(async () => {
    for (const c of children) await c.stop();
  });

  /** Says HELLO, sends one DATA frame with `text`, then GOAWAY normal with `text` as its reason. */
  async function hostileSession(port: number, text: string): Promise<void> {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(Buffer.concat([encodePreface(), hello()]));
    await new Promise((resolve) => socket.once('data', resolve)); // the WELCOME
    socket.end(Buffer.concat([encodeData(1, Buffer.from(text)), encodeGoaway('normal', text, 0)]));
    await new Promise((resolve) => socket.once('close', resolve));
  }

  it('prints the message and the GOAWAY reason with their escapes shown, never raw', async () => {
    const serve = startCli(['serve', '--host', '127.0.0.1', '--port', '0']);
    children.push(serve);
    const [, port] = await serve.stdout.waitLine(/^listening on 127\.0\.0\.1:(\d+)$/, 10_000);
    await hostileSession(Number(port), EVIL);
    await serve.stdout.waitLine(/GOAWAY normal: the peer said goodbye/, 5000);
    await serve.stdout.waitLine(/^\[\w+\] closed$/, 5000);
    const out = serve.stdout.text;
    assert.ok(
      unsafe(out.replaceAll('\n', '')).length === 0,
      `raw control characters in: ${JSON.stringify(out)}`,
    );
    assert.match(out, /^\[\w+\] \\x1b\[2J\\x1b\[H\[abcd1234\] closed\\x0d\\x0a\\x1b\]52;c;/m);
    assert.match(
      out,
      /GOAWAY normal: the peer said goodbye \(.*\\x1b\]0;pwned\\x07\\u202egnp\.exe\\x9b31m\)/,
    );
    const lines = serve.stdout.lines;
    assert.equal(lines.filter((l) => /^\[\w+\] closed$/.test(l)).length, 1, 'only the real "closed" line');
    assert.ok(!lines.some((l) => l.startsWith('[abcd1234]')), 'the faked line stays inside its message');
  });

  it('--json carries the peer text unchanged, escaped by JSON itself', async () => {
    const serve = startCli(['serve', '--host', '127.0.0.1', '--port', '0', '--json']);
    children.push(serve);
    const [, port] = await serve.stdout.waitLine(/"event":"listening".*"port":(\d+)/, 10_000);
    await hostileSession(Number(port), EVIL);
    await serve.stdout.waitLine(/"event":"closed"/, 5000);
    const message = jsonLines(serve.stdout.text).find((e) => e.event === 'message');
    assert.equal(message?.text, EVIL);
    assert.ok(!serve.stdout.text.includes('\x1b'), 'JSON lines hold no raw ESC');
  });
});
