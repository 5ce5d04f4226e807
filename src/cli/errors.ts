// How the tlens command prints a failure (main.ts's top-level handler).
import { TlensError } from "../errors.js";

/**
 * How a command's failure is printed: one line `tlens <cmd>: <message>` for a user error (a TlensError, whose message
 * says the fix, or a system error such as EACCES), a line saying it is a bug for anything else; the stack trace
 * only with --verbose or TLENS_DEBUG=1. Exit code 1.
 */
export function describeError(cmd: string, e: unknown, verbose: boolean): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const user = e instanceof TlensError || typeof (e as NodeJS.ErrnoException | null)?.code === "string";
  const line = `tlens ${cmd}: ${err.message}${user || verbose ? "" : " (an internal error: please report it; --verbose or TLENS_DEBUG=1 prints the stack trace)"}`;
  return verbose && err.stack ? `${line}\n${err.stack}` : line;
}
