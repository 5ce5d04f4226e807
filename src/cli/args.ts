// Command-line flags of the tlens subcommands: `--flag value` or `--flag=value`; other words are positional.

/** One flag: reads its value through `value()` when it takes one; returns an error message, or nothing. */
export type FlagHandler = (value: () => string | undefined, flag: string) => string | void;

/** Runs every argument through its flag's handler (words through `positional`); the first error, or null. */
export function parseFlags(
  argv: readonly string[],
  flags: Record<string, FlagHandler>,
  positional?: (word: string) => void,
): string | null {
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] =
      argv[i]!.startsWith("--") && argv[i]!.includes("=") ? argv[i]!.split(/=(.*)/s, 2) : [argv[i], undefined];
    if (Object.hasOwn(flags, flag!)) {
      const error = flags[flag!]!(() => inline ?? argv[++i], flag!);
      if (error) return error;
    } else if (flag!.startsWith("-") || !positional) {
      return `unknown option ${argv[i]}`;
    } else {
      positional(argv[i]!);
    }
  }
  return null;
}

/** A flag with a non-empty string value. */
export function stringFlag(set: (v: string) => void): FlagHandler {
  return (value, flag) => {
    const v = value();
    if (!v) return `${flag} needs a value`;
    set(v);
    return undefined;
  };
}

/** A flag with an integer value from min to max (max: Infinity for no bound), written as plain decimal digits
 *  (Number() would also take "1e3", "0x10", "1.0" and " 5"); a sign only where min is negative. */
export function intFlag(min: number, max: number, set: (n: number) => void): FlagHandler {
  const digits = min < 0 ? /^-?[0-9]+$/ : /^[0-9]+$/;
  return (value, flag) => {
    const v = value();
    const n = Number(v);
    if (!v || !digits.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
      return `${flag} needs an integer ${max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`}`;
    }
    set(n);
    return undefined;
  };
}

/** A subcommand's arguments: `-h`/`--help` print its usage (exit code 0); a parse error is printed with the usage
 *  (exit code 2). Returns the parsed arguments, or the exit code. */
export function commandArgs<T extends object>(
  command: string,
  usage: string,
  argv: readonly string[],
  parse: (argv: readonly string[]) => T | string,
): T | number {
  if (argv.includes("-h") || argv.includes("--help")) {
    console.log(usage);
    return 0;
  }
  const parsed = parse(argv);
  if (typeof parsed !== "string") return parsed;
  console.error(`tlens ${command}: ${parsed}\n\n${usage}`);
  return 2;
}
