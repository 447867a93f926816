import { describe, expect, it } from 'vitest';
import { BaseService } from '../../main/core/lifecycle/service.ts';
import { ServiceHost, ServiceStartError, StartRefusedError } from '../../main/core/lifecycle/service-host.ts';

type Behaviour = { start?: 'ok' | 'fail' | 'throw-sync' | 'hang'; stop?: 'ok' | 'hang' | 'throw' };

class FakeService extends BaseService {
  constructor(
    readonly name: string,
    private readonly log: string[],
    private readonly behaviour: Behaviour = {},
  ) {
    super();
  }
  async start(signal: AbortSignal): Promise<void> {
    this.log.push(`start:${this.name}`);
    this.setState({ status: 'starting' });
    if (this.behaviour.start === 'fail') {
      this.setState({ status: 'failed', error: 'boom' });
      throw new Error(`${this.name} failed`);
    }
    if (this.behaviour.start === 'throw-sync') throw new TypeError('bad config');
    if (this.behaviour.start === 'hang') {
      await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    }
    this.setState({ status: 'running' });
  }
  async stop(_deadlineMs: number): Promise<void> {
    this.log.push(`stop:${this.name}`);
    this.setState({ status: 'stopping' });
    if (this.behaviour.stop === 'hang') await new Promise(() => {});
    if (this.behaviour.stop === 'throw') throw new Error('stop failed');
    this.setState({ status: 'stopped' });
  }
}

describe('ServiceHost', () => {
  it('starts in order and stops in reverse', async () => {
    const log: string[] = [];
    const host = new ServiceHost();
    host
      .add(new FakeService('homeserver', log))
      .add(new FakeService('inference', log))
      .add(new FakeService('bots', log));
    await host.start();
    expect(host.phase).toBe('running');
    expect(host.report().map((r) => r.state.status)).toEqual(['running', 'running', 'running']);
    await host.stop(1000);
    expect(log).toEqual([
      'start:homeserver',
      'start:inference',
      'start:bots',
      'stop:bots',
      'stop:inference',
      'stop:homeserver',
    ]);
    expect(host.phase).toBe('stopped');
  });

  it('does not start later services when one fails, and stops the earlier ones', async () => {
    const log: string[] = [];
    const host = new ServiceHost();
    host
      .add(new FakeService('a', log))
      .add(new FakeService('b', log, { start: 'fail' }))
      .add(new FakeService('c', log));
    await expect(host.start()).rejects.toBeInstanceOf(ServiceStartError);
    expect(log).toEqual(['start:a', 'start:b', 'stop:b', 'stop:a']);
    expect(log).not.toContain('start:c');
  });

  it('reports a service that throws synchronously with its reason', async () => {
    const host = new ServiceHost();
    host.add(new FakeService('a', [], { start: 'throw-sync' }));
    await expect(host.start()).rejects.toThrow(/a could not start: bad config/);
  });

  it('keeps going past an optional service that fails', async () => {
    const log: string[] = [];
    const host = new ServiceHost({ optional: new Set(['homeserver']) });
    host.add(new FakeService('homeserver', log, { start: 'fail' })).add(new FakeService('inference', log));
    await host.start();
    expect(host.report()).toEqual([
      { name: 'homeserver', state: { status: 'failed', error: 'boom' } },
      { name: 'inference', state: { status: 'running' } },
    ]);
  });

  it('stops under one deadline even when a service hangs or throws on stop', async () => {
    const log: string[] = [];
    const host = new ServiceHost();
    host
      .add(new FakeService('a', log))
      .add(new FakeService('hangs', log, { stop: 'hang' }))
      .add(new FakeService('throws', log, { stop: 'throw' }));
    await host.start();
    const t0 = Date.now();
    await host.stop(300);
    const took = Date.now() - t0;
    expect(took).toBeLessThan(1500);
    expect(log.slice(3)).toEqual(['stop:throws', 'stop:hangs', 'stop:a']);
    expect(host.phase).toBe('stopped');
  });

  it('refuses new starts once stopping began and aborts a hanging start', async () => {
    const log: string[] = [];
    const host = new ServiceHost();
    host.add(new FakeService('slow', log, { start: 'hang' })).add(new FakeService('never', log));
    const starting = host.start();
    await new Promise((r) => setTimeout(r, 20));
    const stopping = host.stop(500);
    await expect(starting).rejects.toBeInstanceOf(StartRefusedError);
    await stopping;
    expect(log).not.toContain('start:never');
    await expect(host.start()).rejects.toBeInstanceOf(StartRefusedError);
  });

  it('emits changes and a second stop() returns the same promise', async () => {
    const host = new ServiceHost();
    host.add(new FakeService('a', []));
    let changes = 0;
    host.onChange(() => changes++);
    await host.start();
    const s1 = host.stop();
    const s2 = host.stop();
    expect(s1).toBe(s2);
    await s1;
    expect(changes).toBeGreaterThan(3);
  });
});
