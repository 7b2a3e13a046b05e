// Text from events (process names, paths) and from error messages goes to terminals. A
// control character there can move the cursor or rewrite the screen (C0, DEL, C1 such as
// U+009B, the 8-bit CSI), and a bidirectional control (U+202A-202E, U+2066-2069, U+200E,
// U+200F, U+061C) can make a path read differently from what it is. These are escaped as
// \xHH (up to U+00FF) or \uHHHH: Unicode's Cc (controls), Cf (format: bidi marks,
// zero-width characters, soft hyphen), Cs (lone surrogates), Zl and Zp (line and paragraph
// separators), and U+FFFD (the sign of bytes that were not UTF-8).

const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\ufffd]/gu;

/** `text` with every control, format and separator character escaped (see above). */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escapeChar);
}

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}
