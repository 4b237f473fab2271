// Peer-controlled text made safe for a terminal: what a peer sends (message text, GOAWAY reasons, session
// ids, identities, error messages that quote it) reaches the operator's screen only with its control
// characters shown, never obeyed. Pure: strings in, strings out. JSON output needs none of this
// (JSON.stringify already escapes every control character).

/**
 * Characters a terminal or a log viewer would act on rather than show: C0 controls (ESC, CR and LF among
 * them: screen clearing, faked log lines, OSC 52 clipboard writes, window titles), DEL, C1 controls (U+0080..
 * U+009F: CSI and OSC have 8-bit forms) and the Unicode bidirectional overrides, embeddings, isolates and
 * marks, which reorder what a line appears to say (CVE-2021-42574, "Trojan Source"), plus the line and
 * paragraph separators.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this regex's job
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * `text` with every character a terminal would act on written out visibly: "\x1b" for ESC, "\x0a" for a
 * line feed, "\u202e" for RIGHT-TO-LEFT OVERRIDE. Everything else (printable ASCII, other Unicode, the
 * backslash) is unchanged, so the result is stable: escaping it again changes nothing. Use it on every line
 * the CLI prints for people that may hold a peer's text; a line is escaped whole, so that no field of it can
 * be forgotten (and so a line never contains a newline of its own).
 */
export function escapeControls(text: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text) ? text.replace(UNSAFE, visible) : text;
}

function visible(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}
