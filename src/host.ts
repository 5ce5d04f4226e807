// What tlens reads from its host process: environment variables and stderr. In Node that is `process`; in a page
// there is none, and these answer "unset" / "not a terminal" / write nothing. Typed here, so the code the browser
// build shares with Node needs no Node types (tsconfig.browser.json).

/** The part of Node's `process` tlens uses. */
interface HostProcess {
  env?: Record<string, string | undefined>;
  stderr?: { isTTY?: boolean; write(text: string): unknown };
}

const hostProcess = (): HostProcess | undefined => (globalThis as { process?: HostProcess }).process;

/** An environment variable; undefined when unset, and in a page. */
export function envVar(name: string): string | undefined {
  return hostProcess()?.env?.[name];
}

/** Whether stderr is a terminal (false in a page). */
export function stderrIsTTY(): boolean {
  return hostProcess()?.stderr?.isTTY === true;
}

/** Writes to stderr; nothing in a page. */
export function writeStderr(text: string): void {
  hostProcess()?.stderr?.write(text);
}
