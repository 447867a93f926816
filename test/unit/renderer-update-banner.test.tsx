// @vitest-environment jsdom
// The desktop app's update in the window: the download's progress as it arrives (app.update events), then
// "Restart now" (app.restartToUpdate), or where to get a version this install cannot take in place; nothing otherwise.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { UpdateBanner } from '../../renderer/src/components/update-banner.tsx';
import { fakeApi, renderWithApi } from '../support/renderer/fake-api.ts';

afterEach(cleanup);

describe('update banner', () => {
  it('shows the download, then Restart now, which asks the shell to restart', async () => {
    const f = fakeApi({
      'app.updateState': () => ({ phase: 'checking' }),
      'app.restartToUpdate': () => ({ restarting: true }),
    });
    renderWithApi(f.api, <UpdateBanner />);
    await waitFor(() => expect(f.calls.map((c) => c[0])).toContain('app.updateState'));
    expect(screen.queryByRole('status', { name: 'Update' })).toBeNull();
    f.emit('app.update', { phase: 'downloading', version: '0.2.0', percent: 41.7 });
    expect(screen.getByRole('progressbar', { name: 'Agent Room 0.2.0' }).getAttribute('aria-valuenow')).toBe('41');
    f.emit('app.update', { phase: 'ready', version: '0.2.0' });
    expect(screen.getByRole('status', { name: 'Update' }).textContent).toMatch(
      /Agent Room 0\.2\.0 is ready\. It installs when you quit/,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Restart now' }));
    await waitFor(() => expect(f.calls.map((c) => c[0])).toContain('app.restartToUpdate'));
  });

  it('says where to get a version that cannot install in place (deb, unsigned macOS)', async () => {
    const f = fakeApi({
      'app.updateState': () => ({
        phase: 'available',
        version: '0.2.0',
        how: 'Installed from the .deb package: install the new .deb from the release page.',
        url: 'https://github.com/agent-room/agent-room/releases/tag/v0.2.0',
      }),
    });
    renderWithApi(f.api, <UpdateBanner />);
    const link = await screen.findByRole('link', { name: 'Get it' });
    expect(link.getAttribute('href')).toBe('https://github.com/agent-room/agent-room/releases/tag/v0.2.0');
    expect(screen.getByRole('status', { name: 'Update' }).textContent).toMatch(/install the new \.deb/);
  });

  it('shows nothing when there is nothing to do, or in serve (off)', async () => {
    const f = fakeApi({ 'app.updateState': () => ({ phase: 'off', why: 'serve' }) });
    renderWithApi(f.api, <UpdateBanner />);
    await waitFor(() => expect(f.calls.length).toBe(1));
    f.emit('app.update', { phase: 'current', version: '0.1.0' });
    expect(screen.queryByRole('status', { name: 'Update' })).toBeNull();
  });
});
