// Headless entry: `agent-room <command>`. The same core as the desktop app, without a GUI.
import { runRoute, type RouteFlags } from './cli/route-command.ts';
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { appVersion } from './core/app/app-core.ts';
import { defaultDataDir } from './core/paths.ts';
import { STOP_IT_FIRST, whileHoldingDataFolder } from './cli/data-folder-guard.ts';
import { runSetPassword, runSetRecoveryKey } from './cli/account-command.ts';
import { runApiKey } from './cli/api-key-command.ts';
import { addPeerCommands } from './cli/peer-program.ts';
import { runAudit, type AuditFlags } from './cli/audit-command.ts';
import { runChat } from './cli/chat-command.ts';
import { runImport } from './cli/import-command.ts';
import { runMcpList, runMcpTest } from './cli/mcp-command.ts';
import { runModels, runPull } from './cli/models-command.ts';
import { listPipelinesCli, runPipelineCli } from './cli/pipeline-command.ts';
import { runProbe } from './cli/probe-command.ts';
import { runServe } from './cli/serve-command.ts';
import { runLoginInfo, runStatus } from './cli/status-command.ts';
import { dataPaths } from './core/paths.ts';

export function buildProgram(): Command {
  const program = new Command('agent-room')
    .description('A private AI team in a Matrix room: homeserver, local models and bots on this machine.')
    .version(appVersion(), '-V, --version', 'print the version')
    .addOption(
      new Option('--data-dir <dir>', 'where settings, models, state and logs live').default(
        defaultDataDir(),
        'per-user data folder',
      ),
    )
    .showHelpAfterError();

  program
    .command('serve')
    .description('run the homeserver, inference and bots without a GUI; serves the chat window on loopback')
    .option('--port <n>', 'control API and chat window port (default 8765; 0 = any free port)', parsePort)
    .option('--homeserver-url <url>', 'use an external homeserver instead of the bundled one')
    .option('--registration-token <token>', "the external homeserver's registration token")
    .option('--no-bots', 'start without the bot runner')
    .action(async (opts: ServeFlags) => {
      const code = await runServe({ dataDir: dataDir(program), ...opts });
      // Native inference threads and pino's worker may hold the loop open; every service has stopped.
      process.exit(code);
    });

  program
    .command('probe')
    .description('show the hardware report and the inference plan (backend, threads, what fits, and why)')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { json?: boolean }) => {
      process.exitCode = await runProbe({ ...opts, paths: dataPaths(dataDir(program)) });
    });

  addAccountCommands(program);
  addModelCommands(program);
  addAuditCommand(program);
  addRouteCommand(program);
  addApiKeyCommands(program);
  addPipelineCommands(program);
  addMcpCommands(program);
  addPeerCommands(program);
  return program;
}

/** The OpenAI-compatible API's keys; they take effect at once, also while serve runs. */
function addApiKeyCommands(program: Command): void {
  const keys = program
    .command('api-key')
    .description('keys of the OpenAI-compatible API (/v1): create (shown once), list, revoke');
  const run = async (action: Parameters<typeof runApiKey>[1]) => {
    const paths = dataPaths(dataDir(program));
    process.exitCode = await runApiKey(paths, action, readControlPort(paths.settings));
  };
  keys
    .command('create')
    .description('make a key and print it once (only its hash is kept)')
    .argument('<name>', 'who or what uses it: letters, digits and . _ -')
    .action((name: string) => run({ kind: 'create', name }));
  keys
    .command('list')
    .description("the keys' names, first characters and creation times")
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => run({ kind: 'list', json: Boolean(opts.json) }));
  keys
    .command('revoke')
    .description('remove a key: requests with it are refused at once')
    .argument('<name>', 'the key to remove')
    .action((name: string) => run({ kind: 'revoke', name }));
}

/** control.port from settings.json, for the address create prints; the default when unreadable. */
function readControlPort(file: string): number {
  try {
    const port = (JSON.parse(readFileSync(file, 'utf8')) as { control?: { port?: unknown } }).control?.port;
    return typeof port === 'number' && port > 0 ? port : 8765;
  } catch {
    return 8765;
  }
}

/** Pipelines: list them, run one on a text with the real models. */
function addPipelineCommands(program: Command): void {
  const pipeline = program.command('pipeline').description('the pipelines of stages in the settings: list or run one');
  pipeline
    .command('list')
    .description('list the pipelines: their stages, the model or bot of each, and their conditions')
    .option('--json', 'print the pipelines as JSON, as in the settings')
    .action((opts: { json?: boolean }) => {
      process.exitCode = listPipelinesCli(dataDir(program), opts);
    });
  pipeline
    .command('run')
    .description("run a pipeline on a text with its models, printing each stage's output as it streams")
    .argument('<name>', 'the pipeline (`agent-room pipeline list` shows them)')
    .argument('<text>', 'the text the pipeline works on')
    .option('--json', 'print one JSON object at the end: every stage with its output, and the answer')
    .action(async (name: string, text: string, opts: { json?: boolean }) => {
      // Native inference threads may hold the loop open after the backends closed: exit explicitly.
      process.exit(await runPipelineCli(name, text, { dataDir: dataDir(program), ...opts }));
    });
}

/** The audit trail: every model call, and removing old ones. */
function addAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('list every model call: when, room, bot, model, local or cloud, sensitive kinds, tokens, time, why')
    .option('--since <when>', 'only calls since then: 24h, 7d, 30m, 2w, or a date (2026-01-31, ISO 8601)')
    .option('--limit <n>', 'only the newest n calls', parsePositiveInt)
    .option('--json', 'print one JSON array')
    .option('--purge', 'remove calls (all of them, or those before --before) and print how many')
    .option('--before <when>', 'with --purge: only calls before then (a date, or 7d, 24h… ago)')
    .action(async (opts: AuditFlags) => {
      try {
        process.exitCode = await runAudit(dataPaths(dataDir(program)), opts);
      } catch (err) {
        console.error(`The audit database could not be read: ${err instanceof Error ? err.message : String(err)}`);
        process.exitCode = 1;
      }
    });
}

/** The MCP servers in settings, and one started to list its tools. */
function addMcpCommands(program: Command): void {
  const mcp = program.command('mcp').description('the MCP servers the bots take tools from');
  mcp
    .command('list')
    .description('list the MCP servers in settings: how each is reached, on this machine or not, which bots use it')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      process.exit(await runMcpList({ dataDir: dataDir(program), ...opts }));
    });
  mcp
    .command('test')
    .description('start one MCP server, list its tools (read-only, or asks for approval) and stop it')
    .argument('<server>', 'the server id in settings (mcp.servers)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      process.exit(await runMcpTest(id, { dataDir: dataDir(program), ...opts }));
    });
}

/** The router's decision for a request, without running it. */
function addRouteCommand(program: Command): void {
  program
    .command('route')
    .description('print where a request would go (task, sensitive data, model, local or cloud, why) without running it')
    .argument('<text>', 'the request, as a person would write it in the room')
    .option('--bot <id>', 'the bot asked (default: the first bot)')
    .option('--json', 'print one JSON object (warnings go to stderr)')
    .option('--classify', 'also ask the classifier model, when one is set (runs that small model)')
    .action(async (text: string, opts: RouteFlags) => {
      process.exit(await runRoute(text, { ...opts, dataDir: dataDir(program) }));
    });
}

/** Settings and accounts: import a config, what runs, how to sign in, passwords and the recovery key. */
function addAccountCommands(program: Command): void {
  program
    .command('import')
    .description(
      'import a matrix-agent-room bots config or an AIMatrix master agent config (routing, resources, pipeline) into the settings',
    )
    .argument('<file>', 'the config YAML')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const dir = dataDir(program);
      process.exitCode = await whileHoldingDataFolder(
        { dataDir: dir, command: 'import', whileRunning: STOP_IT_FIRST },
        () => runImport(file, { dataDir: dir, ...opts }),
      );
    });

  program
    .command('status')
    .description('show what runs: homeserver, services, the team room and the bot accounts')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      process.exitCode = await runStatus(dataPaths(dataDir(program)), opts);
    });

  program
    .command('login-info')
    .description('what you need to sign in from Element or a phone: homeserver URL, user id (and password)')
    .option('--show-password', 'also print the password from the secret store')
    .option('--json', 'print JSON (the password and recovery key only with --show-password)')
    .action(async (opts: { showPassword?: boolean; json?: boolean }) => {
      process.exitCode = await runLoginInfo(dataPaths(dataDir(program)), opts);
    });

  program
    .command('set-password')
    .description(
      'use an account that already exists on the homeserver: store its password (read without echo, or from stdin)',
    )
    .argument('<who>', '"owner" or a bot id')
    .action(async (who: string) => {
      const dir = dataDir(program);
      process.exitCode = await whileHoldingDataFolder(
        { dataDir: dir, command: 'set-password', whileRunning: STOP_IT_FIRST },
        () => runSetPassword(dataPaths(dir), who),
      );
    });

  program
    .command('set-recovery-key')
    .description(
      "use the owner account's existing encryption keys: store its recovery key (read without echo, or from stdin)",
    )
    .action(async () => {
      const dir = dataDir(program);
      const whileRunning = `give the key in its chat window (Settings → Encryption), or ${STOP_IT_FIRST}`;
      process.exitCode = await whileHoldingDataFolder({ dataDir: dir, command: 'set-recovery-key', whileRunning }, () =>
        runSetRecoveryKey(dataPaths(dir)),
      );
    });
}

/** Models: list them, download one, ask one a question. */
function addModelCommands(program: Command): void {
  const models = program
    .command('models')
    .description(
      'list the models bots can use: downloaded, found on disk (Ollama, LM Studio, Jan, folders), Ollama, endpoints',
    )
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      process.exit(await runModels({ dataDir: dataDir(program), ...opts }));
    });

  models
    .command('pull')
    .description(
      'download a model into the data folder (hf: URI or URL of a .gguf), or pull one into Ollama (ollama:<tag>)',
    )
    .argument('<ref>', 'hf:<user>/<repo>:<quant>, https://…/model.gguf, or ollama:<tag>')
    .action(async (ref: string) => {
      process.exit(await runPull(ref, { dataDir: dataDir(program) }));
    });

  program
    .command('chat')
    .description('ask a model one question and stream the reply; stats (time to first token, tokens/s) go to stderr')
    .argument(
      '<model>',
      'llama:<path>, a .gguf path, ollama:<tag>, openai:<endpoint>/<model>, or a name from `agent-room models`',
    )
    .argument('<prompt>', 'what to ask')
    .option('--max-tokens <n>', 'most tokens in the reply', parsePositiveInt)
    .option('--system <text>', 'a system prompt')
    .action(async (model: string, prompt: string, opts: { maxTokens?: number; system?: string }) => {
      // Native inference threads may hold the loop open after the backends closed: exit explicitly.
      process.exit(await runChat(model, prompt, { dataDir: dataDir(program), ...opts }));
    });
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a whole number of 1 or more, not "${value}".`);
  return n;
}

function dataDir(program: Command): string {
  return program.opts<{ dataDir: string }>().dataDir;
}

export interface ServeFlags {
  port?: number;
  homeserverUrl?: string;
  registrationToken?: string;
  bots?: boolean;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`--port must be a whole number from 0 to 65535, not "${value}".`);
  return n;
}

export async function main(argv: string[]): Promise<void> {
  // The same floor as package.json's engines field.
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 12)) {
    console.error(
      `Agent Room needs Node.js 22.12 or newer (this is ${process.version}). Inside the project, run it through npm (npx agent-room …, npm run serve) or as node_modules/.bin/node bin/agent-room.js …, which use the pinned Node 22.`,
    );
    process.exitCode = 1;
    return;
  }
  await buildProgram().parseAsync(argv);
}
