// A tiny MCP server over stdio, built with the official SDK's McpServer, that misbehaves on purpose for the bad-input
// tests. Run as `node test/support/mcp-test-server.ts <mode>` (Node 22 strips the types):
//   ok          tools `ping` (read-only) and `touch` (changes things)
//   fail-start  writes an error to stderr and exits 1 before answering anything
//   exit        `ping` exits the process mid-call
//   hang        `ping` never answers
//   garbage     `ping` writes a line that is not JSON-RPC instead of its answer
//   big         `ping` answers 10 MB of text
//   tree        starts a grandchild (`sleep`) that outlives a signal to this process alone, then works as `ok`
// The pids it starts are written to $MCP_TEST_PID_FILE (one a line) so tests can check none is left.
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const mode = process.argv[2] ?? 'ok';
const pidFile = process.env.MCP_TEST_PID_FILE;
const notePid = (pid: number | undefined) => pidFile && pid && appendFileSync(pidFile, `${pid}\n`);
notePid(process.pid);

if (mode === 'fail-start') {
  process.stderr.write('mcp-test-server: cannot open the database (simulated)\n');
  process.exit(1);
}
if (mode === 'tree') {
  // A grandchild in our process group that ignores the parent's end: only a tree kill stops it.
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  notePid(child.pid);
}

const server = new McpServer({ name: 'agent-room-test', version: '1.0.0' });
server.registerTool(
  'ping',
  {
    description: 'Answers pong with the text given.',
    inputSchema: { text: z.string() },
    annotations: { readOnlyHint: true },
  },
  async ({ text }) => {
    if (mode === 'exit') process.exit(3);
    if (mode === 'hang') await new Promise(() => undefined);
    if (mode === 'garbage') {
      process.stdout.write('this is not JSON-RPC {\n');
      await new Promise(() => undefined);
    }
    if (mode === 'big') return { content: [{ type: 'text', text: 'x'.repeat(10 * 1024 * 1024) }] };
    return { content: [{ type: 'text', text: `pong: ${text}` }] };
  },
);
server.registerTool(
  'touch',
  {
    description: 'Marks a name as touched (changes state).',
    inputSchema: { name: z.string() },
    annotations: { readOnlyHint: false, destructiveHint: false },
  },
  async ({ name }) => ({ content: [{ type: 'text', text: `touched ${name}` }] }),
);
await server.connect(new StdioServerTransport());
