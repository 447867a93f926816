// @vitest-environment jsdom
// Settings → Tools: the MCP servers with how each is reached, where it runs, which bots use it and its state; Test
// starts one and lists its tools, with those that wait for approval marked; a server that cannot start says why.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, screen, within } from '@testing-library/react';
import { ControlError, type McpServerInfo } from '../../main/common/contract.ts';
import { ToolsCard } from '../../renderer/src/panels/settings-tools.tsx';
import { fakeApi, renderWithApi } from '../support/renderer/fake-api.ts';

afterEach(cleanup);

const files: McpServerInfo = {
  id: 'files',
  transport: 'stdio',
  target: 'mcp-server-filesystem /notes',
  status: 'idle',
  local: true,
  usedBy: ['qwen'],
};

describe('Settings → Tools', () => {
  it('lists the servers, and Test shows a server’s tools and which ask for approval', async () => {
    const { api } = fakeApi({
      'tools.servers': () => [
        files,
        { ...files, id: 'search', transport: 'http', target: 'https://mcp.example/mcp', local: false, usedBy: [] },
      ],
      'tools.test': () => ({
        ...files,
        status: 'ready',
        pid: 4242,
        tools: [
          { name: 'read_text_file', description: 'Read a file', readOnly: true },
          { name: 'write_file', description: 'Write a file', readOnly: false },
        ],
      }),
    });
    const { container } = renderWithApi(api, <ToolsCard />);
    await screen.findByText('files');
    const row = container.querySelector('[data-server="files"]') as HTMLElement;
    expect(row.textContent).toContain('not started (starts when a bot first needs it)');
    expect(row.textContent).toContain('Used by: qwen');
    expect((container.querySelector('[data-server="search"]') as HTMLElement).textContent).toContain('remote');
    fireEvent.click(within(row).getByRole('button', { name: 'Test' }));
    const tools = await screen.findByRole('list', { name: 'Tools of files' });
    expect(tools.textContent).toContain('read_text_file read-only');
    expect(tools.textContent).toContain('write_file asks for approval');
    expect(row.textContent).toContain('running (pid 4242)');
  });

  it('a server that cannot start: the reason', async () => {
    const { api } = fakeApi({
      'tools.servers': () => [files],
      'tools.test': () => {
        throw new ControlError(
          'Unavailable',
          'The MCP server "files" could not start: spawn mcp-server-filesystem ENOENT',
        );
      },
    });
    renderWithApi(api, <ToolsCard />);
    fireEvent.click(await screen.findByRole('button', { name: 'Test' }));
    expect(await screen.findByText(/could not start: spawn mcp-server-filesystem ENOENT/)).toBeTruthy();
  });
});
