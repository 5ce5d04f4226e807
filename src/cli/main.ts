#!/usr/bin/env node
// The `tlens` command. Subcommands land with their issues; unknown ones get a usage message.
import { getBackend } from "../backend/index.js";

const USAGE = `usage: tlens <command>

commands:
  ioi --model <name|dir> --out <dir>   IOI analysis report (not implemented yet)
  info                                 backend and version information`;

function main(argv: string[]): number {
  const [cmd] = argv;
  switch (cmd) {
    case "info":
      console.log(`tlens backend: ${getBackend().name}`);
      return 0;
    case "ioi":
    case "lab":
    case "download":
      console.error(`tlens ${cmd}: not implemented yet`);
      return 3;
    default:
      console.error(USAGE);
      return cmd === undefined || cmd === "--help" || cmd === "-h" ? 0 : 2;
  }
}

process.exitCode = main(process.argv.slice(2));
