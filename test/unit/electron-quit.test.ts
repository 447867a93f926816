// Quit is held until every service stopped (in reverse, under one deadline); one instance only.
import { beforeEach, describe, expect, it, vi } from 'vitest';
vi.mock('electron', async () => (await import('../support/electron-mock.ts')).electronModule());
import { EventEmitter } from 'node:events';
import { BaseService } from '../../main/core/lifecycle/service.ts';
import { ServiceHost } from '../../main/core/lifecycle/service-host.ts';
import { QuitGuard, acquireSingleInstance } from '../../main/electron/quit-guard.ts';
import { electronMock, resetElectronMock } from '../support/electron-mock.ts';

class Recorded extends BaseService {
  constructor(
    readonly name: string,
    private readonly log: string[],
    private readonly stopMs = 0,
  ) {
    super();
  }
  async start(): Promise<void> {
    this.log.push(`start ${this.name}`);
    this.setState({ status: 'running' });
  }
  async stop(): Promise<void> {
    await new Promise((r) => setTimeout(r, this.stopMs));
    this.log.push(`stop ${this.name}`);
    this.setState({ status: 'stopped' });
  }
}

function hostWith(log: string[], stopMs: Record<string, number> = {}) {
  const host = new ServiceHost();
  for (const name of ['homeserver', 'inference', 'bots']) host.add(new Recorded(name, log, stopMs[name] ?? 0));
  return host;
}

beforeEach(() => {
  resetElectronMock();
});

describe('QuitGuard', () => {
  it('holds quit, stops services in reverse, then exits once', async () => {
    const log: string[] = [];
    const host = hostWith(log);
    await host.start();
    const events: string[] = [];
    const guard = new QuitGuard({
      host,
      deadlineMs: 1000,
      onQuitting: () => events.push('quitting'),
      beforeExit: () => events.push('beforeExit'),
      processRef: new EventEmitter() as never,
    });
    guard.install();
    let willQuit = 0;
    electronMock.app.on('will-quit', () => willQuit++);

    electronMock.app.quit();
    expect(guard.quitting).toBe(true);
    expect(willQuit).toBe(0); // held
    expect(electronMock.app.exitCode).toBeUndefined();
    electronMock.app.quit(); // a second Quit click does not start a second stop
    await guard.finished;

    expect(log).toEqual([
      'start homeserver',
      'start inference',
      'start bots',
      'stop bots',
      'stop inference',
      'stop homeserver',
    ]);
    expect(host.phase).toBe('stopped');
    expect(events).toEqual(['quitting', 'beforeExit']);
    expect(electronMock.app.exitCode).toBe(0);
  });

  it('exits at the deadline when a service hangs in stop', async () => {
    const log: string[] = [];
    const hung = {
      phase: 'running' as const,
      start: () => Promise.resolve(),
      stop: () => new Promise<void>(() => undefined),
      onChange: () => () => undefined,
    };
    const guard = new QuitGuard({ host: hung, deadlineMs: 50, graceMs: 20, processRef: new EventEmitter() as never });
    guard.install();
    const started = Date.now();
    electronMock.app.quit();
    await guard.finished;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(electronMock.app.exitCode).toBe(0);
    expect(log).toEqual([]);
  });

  it('one deadline for all: a slow service leaves the rest what is left', async () => {
    const log: string[] = [];
    const host = hostWith(log, { bots: 30 });
    await host.start();
    const guard = new QuitGuard({ host, deadlineMs: 2000, processRef: new EventEmitter() as never });
    guard.install();
    electronMock.app.quit();
    await guard.finished;
    expect(log.slice(3)).toEqual(['stop bots', 'stop inference', 'stop homeserver']);
  });

  it('SIGTERM quits the same way', async () => {
    const log: string[] = [];
    const host = hostWith(log);
    await host.start();
    const proc = new EventEmitter();
    const guard = new QuitGuard({ host, deadlineMs: 1000, processRef: proc as never });
    guard.install();
    proc.emit('SIGTERM');
    await guard.finished;
    expect(log.at(-1)).toBe('stop homeserver');
    expect(electronMock.app.quitCalls).toBe(1);
  });

  it('a tray app stays alive when its last window closes', () => {
    new QuitGuard({ host: hostWith([]), deadlineMs: 10, processRef: new EventEmitter() as never }).install();
    electronMock.app.emit('window-all-closed');
    expect(electronMock.app.quitCalls).toBe(0);
  });
});

describe('single instance', () => {
  it('the first instance keeps the lock and focuses its window on a second launch', () => {
    const focused: string[][] = [];
    expect(acquireSingleInstance((argv) => focused.push(argv))).toBe(true);
    electronMock.app.emit('second-instance', {}, ['agent-room', '--hidden'], '/home/me');
    expect(focused).toEqual([['agent-room', '--hidden']]);
    expect(electronMock.app.quitCalls).toBe(0);
  });

  it('a second instance quits at once', () => {
    electronMock.app.lockHeld = false;
    const focus = vi.fn();
    expect(acquireSingleInstance(focus)).toBe(false);
    expect(electronMock.app.quitCalls).toBe(1);
    expect(electronMock.app.listenerCount('second-instance')).toBe(0);
  });
});
