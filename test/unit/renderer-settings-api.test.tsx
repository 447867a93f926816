// @vitest-environment jsdom
// Settings → API: the base URL and limits, the keys listed without their values, a new key shown once, a revoked
// key gone, a refused name explained, and the desktop app's switch saved as api.enabled.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { ControlError } from '../../main/common/contract.ts';
import { defaultSettings } from '../../main/common/settings-schema.ts';
import { ApiCard } from '../../renderer/src/panels/settings-api.tsx';
import { fakeApi, renderWithApi } from '../support/renderer/fake-api.ts';

afterEach(cleanup);

const created = '2026-01-01T00:00:00.000Z';

function setup(desktop: boolean) {
  const keys = [{ name: 'laptop', prefix: 'ar-AbCd', createdAt: created }];
  const settings = defaultSettings();
  const { api, calls } = fakeApi({
    'apiKeys.list': () => ({ keys: [...keys], ...(desktop ? {} : { baseUrl: 'http://127.0.0.1:8765/v1' }) }),
    'apiKeys.create': ({ name }) => {
      if (name === 'laptop')
        throw new ControlError('BadRequest', 'An API key called "laptop" exists already.', {
          hint: 'Revoke it first or choose another name.',
        });
      const made = { name, prefix: 'ar-Wxyz', createdAt: created };
      keys.push(made);
      return { ...made, key: `ar-Wxyz${'k'.repeat(39)}` };
    },
    'apiKeys.revoke': ({ name }) => {
      keys.splice(
        keys.findIndex((k) => k.name === name),
        1,
      );
      return { revoked: true };
    },
    'settings.update': (patch) => ({ ...settings, api: { ...settings.api, ...(patch as { api?: object }).api } }),
  });
  renderWithApi(api, <ApiCard settings={settings} desktop={desktop} />);
  return calls;
}

describe('Settings → API', () => {
  it('lists keys and the base URL, shows a new key once, explains a refused name, and revokes', async () => {
    setup(false);
    expect(await screen.findByText('http://127.0.0.1:8765/v1')).toBeTruthy();
    expect(screen.getByText('laptop')).toBeTruthy();
    expect(screen.getByText(/120 requests a minute, run 4 at once and have 16 waiting/)).toBeTruthy();

    const name = screen.getByLabelText("New key's name");
    fireEvent.change(name, { target: { value: 'laptop' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create key' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/exists already\. Revoke it first/);
    expect((name as HTMLInputElement).value).toBe('laptop');

    fireEvent.change(name, { target: { value: 'ci' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create key' }));
    const shown = await screen.findByRole('status');
    expect(shown.textContent).toMatch(/copy it now, it will not be shown again/);
    expect(shown.textContent).toContain(`ar-Wxyz${'k'.repeat(39)}`);
    expect(await screen.findByText('ci')).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Revoke laptop' }));
    await waitFor(() => expect(screen.queryByText('laptop')).toBeNull());
  });

  it("saves the desktop app's switch as api.enabled and says when the API is off", async () => {
    const calls = setup(true);
    expect(await screen.findByText(/The API is off\./)).toBeTruthy();
    const box = screen.getByLabelText('Serve the API to programs on this computer') as HTMLInputElement;
    fireEvent.click(box);
    await waitFor(() => expect(calls.some((c) => c[0] === 'settings.update')).toBe(true));
    expect(calls.find((c) => c[0] === 'settings.update')![1]).toEqual({ api: { enabled: true } });
  });
});
