// Headless entry: `agent-room <command>`. The same core as the desktop app, without a GUI.
import { Command, Option } from 'commander';
import { defaultDataDir } from './core/paths.ts';
import { runServe } from './cli/serve-command.ts';

export function buildProgram(): Command {
  const program = new Command('agent-room')
    .description('A private AI team in a Matrix room: homeserver, local models and bots on this machine.')
    .addOption(new Option('--data-dir <dir>', 'where settings, models, state and logs live').default(defaultDataDir(), 'per-user data folder'))
    .showHelpAfterError();

  program
    .command('serve')
    .description('run the homeserver, inference and bots without a GUI; serves the chat window on loopback')
    .option('--port <n>', 'control API and chat window port (default 8765; 0 = any free port)', parsePort)
    .option('--homeserver-url <url>', 'use an external homeserver instead of the bundled one')
    .option('--registration-token <token>', "the external homeserver's registration token")
    .option('--no-bots', 'start without the bot runner')
    .action(async (opts: ServeFlags) => {
      const code = await runServe({ dataDir: program.opts<{ dataDir: string }>().dataDir, ...opts });
      process.exitCode = code;
    });

  return program;
}

export interface ServeFlags {
  port?: number;
  homeserverUrl?: string;
  registrationToken?: string;
  bots?: boolean;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port must be a whole number from 0 to 65535, not "${value}".`);
  return n;
}

export async function main(argv: string[]): Promise<void> {
  const [major] = process.versions.node.split('.').map(Number);
  if ((major ?? 0) < 22) {
    console.error(
      `Agent Room needs Node.js 22 or newer (this is ${process.version}). Inside the project, run it through npm (npx agent-room …, npm run serve) which uses the pinned Node 22.`,
    );
    process.exitCode = 1;
    return;
  }
  await buildProgram().parseAsync(argv);
}
