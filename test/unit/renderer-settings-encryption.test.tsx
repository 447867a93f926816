// @vitest-environment jsdom
// Settings → Encryption: nothing to do when the app holds the recovery key; otherwise the key of an account set up
// in Element is entered (hidden), a wrong one is refused with the core's message, a right one is saved.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { ControlError } from '../../main/common/contract.ts';
import { defaultSettings } from '../../main/common/settings-schema.ts';
import { SettingsPanel } from '../../renderer/src/panels/settings-panel.tsx';
import { fakeApi, renderWithApi, type FakeHandlers } from '../support/renderer/fake-api.ts';

afterEach(cleanup);

function renderWith(handlers: FakeHandlers) {
  const { api, calls } = fakeApi(handlers);
  renderWithApi(api, <SettingsPanel settings={defaultSettings()} desktop={false} />);
  return calls;
}

describe('Settings → Encryption', () => {
  it('says all is in place when the app holds the recovery key', async () => {
    renderWith({ 'session.encryption': () => ({ encrypted: true, recoveryKeyKnown: true }) });
    expect(await screen.findByText(/Agent Room holds your recovery key/)).toBeTruthy();
    expect(screen.queryByLabelText('Recovery key')).toBeNull();
  });

  it('shows nothing for an unencrypted team', async () => {
    const calls = renderWith({ 'session.encryption': () => ({ encrypted: false, recoveryKeyKnown: false }) });
    await waitFor(() => expect(calls.map((c) => c[0])).toContain('session.encryption'));
    expect(screen.queryByRole('heading', { name: 'Encryption' })).toBeNull();
  });

  it('takes the key of an account set up elsewhere: a wrong one refused, a right one saved', async () => {
    let tries = 0;
    const calls = renderWith({
      'session.encryption': () => ({ encrypted: true, recoveryKeyKnown: false }),
      'session.setRecoveryKey': () => {
        tries += 1;
        if (tries === 1)
          throw new ControlError('BadRequest', 'That is not a recovery key (Incorrect length).', {
            hint: 'A recovery key looks like "EsTc 1234 …".',
          });
        return { saved: true, replaced: false };
      },
    });
    const input = (await screen.findByLabelText('Recovery key')) as HTMLInputElement;
    expect(input.type).toBe('password');
    fireEvent.change(input, { target: { value: 'nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Use this key' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/not a recovery key/);
    fireEvent.change(input, { target: { value: 'EsTc 1234 abcd' } });
    fireEvent.click(screen.getByRole('button', { name: 'Use this key' }));
    expect((await screen.findByRole('status')).textContent).toMatch(/^Saved\. Agent Room now verifies the bots/);
    expect(calls.filter((c) => c[0] === 'session.setRecoveryKey').map((c) => c[1])).toEqual([
      { recoveryKey: 'nope' },
      { recoveryKey: 'EsTc 1234 abcd' },
    ]);
    expect(screen.getByText(/Agent Room holds your recovery key/)).toBeTruthy();
  });
});
