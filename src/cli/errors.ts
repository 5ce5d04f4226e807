// How the tlens command prints a failure (main.ts's top-level handler).
import { TlensError } from "../errors.js";

/**
 * How a command's failure is printed: one line `tlens <cmd>: <message>` for a user error (a TlensError, whose message
 * says the fix, or a system error such as EACCES), a line saying it is a bug for anything else; the stack trace
 * only with --verbose or TLENS_DEBUG=1. Exit code 1.
 */
export function describeError(cmd: string, e: unknown, verbose: boolean): string {
  const message = e instanceof Error ? e.message : String(e);
  const stack = e instanceof Error ? e.stack : undefined;
  const user = e instanceof TlensError || typeof (e as NodeJS.ErrnoException | null)?.code === "string";
  const line = `tlens ${cmd}: ${message}${user || verbose ? "" : " (an internal error: please report it; --verbose or TLENS_DEBUG=1 prints the stack trace)"}`;
  return verbose && stack ? `${line}\n${stack}` : line;
}
