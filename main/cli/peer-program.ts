// The `agent-room peer …` commands: pairing machines so that one's bots use the other's models (README: Peers).
import { InvalidArgumentError, type Command } from 'commander';
import { dataPaths } from '../core/paths.ts';
import { runPeerDiscover, runPeerList, runPeerRemove, runPeerTrust } from './peer-command.ts';
import { runPeerAdd, runPeerPair, type AddFlags, type PairFlags } from './peer-pair-command.ts';

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 86_400)
    throw new InvalidArgumentError(`expected whole seconds from 1 to 86400, not "${value}".`);
  return n;
}

export function addPeerCommands(program: Command): void {
  const paths = () => dataPaths(program.opts<{ dataDir: string }>().dataDir);
  const peer = program
    .command('peer')
    .description("pair machines: use another Agent Room's models here, or lend this one's (TLS, pinned certificates)");
  peer
    .command('pair')
    .description('print a one-time pairing code (and its QR) for another machine to add this one; valid 10 minutes')
    .option('--ttl <seconds>', 'how long the code stays valid (default 600)', seconds)
    .option(
      '--host <host>',
      'the address the other machine reaches this one at (default: the LAN address, or 127.0.0.1)',
    )
    .option('--json', 'print {code, url, name, fingerprint, expiresAt}')
    .action(async (opts: PairFlags) => {
      process.exitCode = await runPeerPair(paths(), opts);
    });
  peer
    .command('add')
    .description("pair with the machine that printed the code: its models become endpoint peer-<name>'s")
    .argument('<url-or-code>', 'the address the code names (or another that reaches the same machine), or the code')
    .argument('[code]', 'the code from `agent-room peer pair` (arp1.…)')
    .option('--name <name>', 'what to call the peer here (default: its own name)')
    .option('--json', 'print the peer as JSON')
    .action(async (urlOrCode: string, code: string | undefined, opts: AddFlags) => {
      process.exitCode = await runPeerAdd(paths(), urlOrCode, code, opts);
    });
  peer
    .command('list')
    .description('the peers this machine uses, asked again now: address, reachable or not, GPU, models, trust')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      process.exitCode = await runPeerList(paths(), opts);
    });
  peer
    .command('remove')
    .description('forget a peer and its key')
    .argument('<name>', 'the peer')
    .action(async (name: string) => {
      process.exitCode = await runPeerRemove(paths(), name);
    });
  peer
    .command('trust')
    .description(
      '--local: local-only bots and sensitive requests may use the peer as this machine; --no-local undoes it',
    )
    .argument('<name>', 'the peer')
    .option('--local', 'trust it as local')
    .option('--no-local', 'stop trusting it as local')
    .action(async (name: string, opts: { local?: boolean }) => {
      if (opts.local === undefined) {
        console.error('Say --local (trust it as this machine) or --no-local (stop).');
        process.exitCode = 1;
        return;
      }
      process.exitCode = await runPeerTrust(paths(), name, opts.local);
    });
  peer
    .command('discover')
    .description('list the Agent Rooms announcing themselves on the LAN (mDNS, 2 s)')
    .option('--json', 'print JSON')
    .option('--timeout <seconds>', 'how long to listen', seconds)
    .action(async (opts: { json?: boolean; timeout?: number }) => {
      process.exitCode = await runPeerDiscover({
        ...(opts.json ? { json: true } : {}),
        ...(opts.timeout ? { timeout: opts.timeout * 1000 } : {}),
      });
    });
}
