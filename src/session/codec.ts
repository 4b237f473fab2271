// How messages become the bytes of a DATA frame and back: 'binary' (Buffers as they are, the default),
// 'utf8' (strings), 'json' (any JSON value), or the application's own encode/decode. Decoding runs on what a
// peer sent: a failure is that peer's protocol error, never an exception in the application's code.

/** An application's own message format (for example a schema library's serializer). */
export interface MessageCodec<T> {
  /** A message to the bytes of one DATA payload. May throw: send() then throws, nothing is sent. */
  encode(message: T): Buffer | Uint8Array | string;
  /** One DATA payload to a message. May throw: the peer's session ends with GOAWAY protocol-error. */
  decode(payload: Buffer): T;
}

/** The `codec` option: a built-in name, or a MessageCodec. */
export type CodecOption<T> = 'binary' | 'utf8' | 'json' | MessageCodec<T>;

/** What send() accepts with the default 'binary' codec: bytes, or a string sent as UTF-8. */
export type BinaryMessage = Buffer | Uint8Array | string;

const utf8: MessageCodec<string> = {
  encode: (message) => {
    if (typeof message !== 'string')
      throw new TypeError(`with codec 'utf8' a message must be a string, got ${typeof message}`);
    return Buffer.from(message, 'utf8');
  },
  decode: (payload) => payload.toString('utf8'),
};

const json: MessageCodec<unknown> = {
  encode: (message) => {
    const text = JSON.stringify(message);
    if (text === undefined)
      throw new TypeError(`with codec 'json' a message must be a JSON value, got ${typeof message}`);
    return Buffer.from(text, 'utf8');
  },
  decode: (payload) => JSON.parse(payload.toString('utf8')) as unknown,
};

/**
 * The codec for an option; undefined for 'binary' (no work on the per-message path). Throws a TypeError
 * naming the option for anything else.
 */
export function resolveCodec<T>(option: CodecOption<T> | undefined): MessageCodec<T> | undefined {
  if (option === undefined || option === 'binary') return undefined;
  if (option === 'utf8') return utf8 as unknown as MessageCodec<T>;
  if (option === 'json') return json as MessageCodec<T>;
  if (
    typeof option === 'object' &&
    option !== null &&
    typeof option.encode === 'function' &&
    typeof option.decode === 'function'
  )
    return option;
  throw new TypeError(
    `codec must be 'binary', 'utf8', 'json' or { encode, decode }, got ${JSON.stringify(option) ?? typeof option}`,
  );
}
