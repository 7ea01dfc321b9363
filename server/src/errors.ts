/**
 * A mistake the user can fix (a busy port, an unusable data directory, a bad URL).
 * The CLI prints only the message, one line, and exits 1; any other error is a bug and keeps its stack.
 */
export class KilnUsageError extends Error {
  override name = 'KilnUsageError';
}

/** `ECODE: message` for Node system errors, the message otherwise. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = err.message || `${err.name} without a message`;
    const isErrno = typeof code === 'string' && /^E[A-Z]+$/.test(code);
    return isErrno && !message.startsWith(code) ? `${code}: ${message}` : message;
  }
  return String(err);
}
