/** The `folio` command: picks the subcommand, prints usage, and turns the outcome into an exit code. */
import { ConfigError } from "../config";
import { UsageError } from "./args";
import {
  exportCommand,
  notesCommand,
  resumeCommand,
  rollbackCommand,
  status,
  versionsCommand,
  write,
} from "./commands";

const USAGE = `Usage:
  folio write --premise "…" [--title T] [--genre G] [--voice V] [--scenes 50] [--words 60000] [--yes] [--out novel.docx]
  folio status [ID]
  folio notes ID [CHAPTER ["note"]]
  folio resume [ID] [--yes]
  folio export [ID] [--format docx|epub|markdown] [--out FILE]
  folio versions ID SCENE
  folio rollback ID SCENE VERSION

--yes passes both approval gates; without it Folio asks on the terminal.
A chapter's note steers its revision; "" removes it. Notes can change until revision starts.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "write":
      return write(rest);
    case "status":
      return status(rest);
    case "notes":
      return notesCommand(rest);
    case "resume":
      return resumeCommand(rest);
    case "export":
      return exportCommand(rest);
    case "versions":
      return versionsCommand(rest);
    case "rollback":
      return rollbackCommand(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`Unknown command "${command}".\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`folio: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
