// procmem-guard's exit codes: the one table every command returns from (README "Exit codes"
// shows the same table). 70 and 74 are sysexits.h's EX_SOFTWARE and EX_IOERR.

/** Done: the command did what was asked (also: replay's reader closed the output early). */
export const EXIT_OK = 0;
/**
 * The command ran but did not succeed: replay read malformed lines (unless --lenient), watch
 * could not start capture, doctor's self-test found no finding or the addon is missing.
 */
export const EXIT_FAILURE = 1;
/** A usage mistake: unknown command or option, bad value, unreadable input file. */
export const EXIT_USAGE = 2;
/** An internal error: a bug in procmem-guard (the message carries a stack trace). */
export const EXIT_INTERNAL = 70;
/** Reading the input or writing the output failed (ENOSPC, EIO, ...), not a closed pipe. */
export const EXIT_IO = 74;

/** The table, for the README test: code, name, meaning. */
export const EXIT_CODES = [
  [EXIT_OK, 'EXIT_OK', 'success; replay also when its reader closed the output early'],
  [
    EXIT_FAILURE,
    'EXIT_FAILURE',
    'ran but did not succeed (malformed lines, capture could not start, self-test failed)',
  ],
  [EXIT_USAGE, 'EXIT_USAGE', 'usage error or unreadable input'],
  [EXIT_INTERNAL, 'EXIT_INTERNAL', 'internal error (a bug)'],
  [EXIT_IO, 'EXIT_IO', 'reading the input or writing the output failed'],
] as const;
