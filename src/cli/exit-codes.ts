// procmem-guard's exit codes: the one table every command returns from (README "Exit codes"
// shows the same table). 69, 70 and 74 are sysexits.h's EX_UNAVAILABLE, EX_SOFTWARE and
// EX_IOERR.

/**
 * Done: the command did what was asked (also: replay's or watch's reader closed standard output
 * early; watch after SIGINT or SIGTERM).
 */
export const EXIT_OK = 0;
/**
 * The command ran but did not succeed: replay read malformed lines (unless --lenient), watch
 * could not start capture or its capture thread stopped on an error, doctor's self-test found
 * no finding, capture would be incomplete for lack of a capability, or the addon is missing.
 */
export const EXIT_FAILURE = 1;
/** A usage mistake: unknown command or option, bad value, unreadable input or config file. */
export const EXIT_USAGE = 2;
/**
 * watch --enforce could not enforce (sysexits.h's EX_UNAVAILABLE): the eBPF backend did not
 * start, another backend was asked for, or the kernel lacks bpf_send_signal. Nothing runs.
 */
export const EXIT_UNAVAILABLE = 69;
/**
 * An internal error: a bug in procmem-guard (the message carries a stack trace); watch stops
 * capture first (an uncaught exception or unhandled rejection).
 */
export const EXIT_INTERNAL = 70;
/** Reading the input or writing the output failed (ENOSPC, EIO, ...), not a closed pipe. */
export const EXIT_IO = 74;

/** The table, for the README test: code, name, meaning. */
export const EXIT_CODES = [
  [EXIT_OK, 'EXIT_OK', 'success; also when the reader closed standard output early'],
  [
    EXIT_FAILURE,
    'EXIT_FAILURE',
    'ran but did not succeed (malformed lines, capture could not start or failed, self-test failed)',
  ],
  [EXIT_USAGE, 'EXIT_USAGE', 'usage error, unreadable input or a bad config file'],
  [
    EXIT_UNAVAILABLE,
    'EXIT_UNAVAILABLE',
    'watch --enforce cannot enforce here (needs the eBPF backend and bpf_send_signal)',
  ],
  [EXIT_INTERNAL, 'EXIT_INTERNAL', 'internal error (a bug)'],
  [EXIT_IO, 'EXIT_IO', 'reading the input or writing the output failed'],
] as const;
