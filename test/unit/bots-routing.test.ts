// Who answers a message, as a table: the runner gathers these facts and carries out what decideRoute says.
import { describe, expect, it } from 'vitest';
import type { MessageView } from '../../main/core/bots/mentions.ts';
import type { RateDecision } from '../../main/core/bots/rate-limit.ts';
import { decideRoute, type RouteDecision, type RouteFacts } from '../../main/core/bots/routing.ts';

const OWNER = '@ada:hs';
const QWEN = { id: 'qwen', userId: '@qwen:hs', displayName: 'Qwen' };
const CODER = { id: 'coder', userId: '@coder:hs', displayName: 'Coder' };
const bots = [QWEN, CODER];
const allowed: RateDecision = { allowed: true, notify: false, retryAfterMs: 0 };

const view = (v: Partial<MessageView>): MessageView => ({
  triggerId: '$m',
  sender: OWNER,
  body: '',
  mentionedUserIds: [],
  fromBot: false,
  ...v,
});

function facts(v: Partial<MessageView>, over: Partial<RouteFacts> = {}): RouteFacts {
  return {
    view: view(v),
    bots,
    joined: new Set([QWEN.userId, CODER.userId]),
    members: [{ userId: OWNER }, { userId: QWEN.userId }, { userId: CODER.userId }],
    allowDirectMessages: true,
    paused: false,
    pauseNoticed: false,
    rate: () => allowed,
    ...over,
  };
}

/** The decision with its targets as ids, for a compact table. */
function decide(f: RouteFacts): Record<string, unknown> {
  const d: RouteDecision = decideRoute(f);
  return 'targets' in d ? { ...d, targets: d.targets.map((b) => b.id) } : d;
}

describe('decideRoute', () => {
  it.each<[string, RouteFacts, ReturnType<typeof decide>]>([
    [
      'a pill to one bot',
      facts({ body: 'Qwen: hi', mentionedUserIds: [QWEN.userId] }),
      { kind: 'answer', targets: ['qwen'] },
    ],
    [
      'two bots, in the order written',
      facts({ body: '@coder and @qwen compare' }),
      { kind: 'answer', targets: ['coder', 'qwen'] },
    ],
    ['no bot named', facts({ body: 'hello all' }), { kind: 'none' }],
    [
      'a !run, for the bot the runner chose whoever is named',
      facts({ body: '!run triage ask @qwen' }, { addressed: [CODER] }),
      { kind: 'answer', targets: ['coder'] },
    ],
    [
      'a !run while paused',
      facts({ body: '!run triage x' }, { addressed: [CODER], paused: true }),
      { kind: 'paused', targets: ['coder'], notice: true },
    ],
    ['a bot not in the room', facts({ body: '@qwen hi' }, { joined: new Set([CODER.userId]) }), { kind: 'none' }],
    [
      'a reply to a bot',
      facts({ body: 'and then?', inReplyTo: '$r' }, { inReplyToSender: QWEN.userId }),
      { kind: 'answer', targets: ['qwen'] },
    ],
    [
      'a thread a bot is in',
      facts({ body: 'more', threadRoot: '$t' }, { threadParticipants: [CODER.userId] }),
      { kind: 'answer', targets: ['coder'] },
    ],
    [
      'a room of two with a bot',
      facts({ body: 'hi' }, { members: [{ userId: OWNER }, { userId: QWEN.userId }] }),
      { kind: 'answer', targets: ['qwen'] },
    ],
    [
      'a room of two, direct messages off',
      facts({ body: 'hi' }, { members: [{ userId: OWNER }, { userId: QWEN.userId }], allowDirectMessages: false }),
      { kind: 'none' },
    ],
    ['a bot never answers itself', facts({ body: '@qwen', sender: QWEN.userId, fromBot: true }), { kind: 'none' }],
    [
      'a bot mentioning another bot',
      facts({ body: '@coder check this', sender: QWEN.userId, fromBot: true }),
      { kind: 'answer', targets: ['coder'] },
    ],
    [
      'replayed after a restart, answered already',
      facts({ body: '@qwen hi' }, { answered: new Set([QWEN.userId]) }),
      { kind: 'none' },
    ],
    [
      'replayed, one of two answered',
      facts({ body: '@qwen @coder hi' }, { answered: new Set([QWEN.userId]) }),
      { kind: 'answer', targets: ['coder'] },
    ],
    [
      'paused: refused, the room told',
      facts({ body: '@qwen hi' }, { paused: true }),
      { kind: 'paused', targets: ['qwen'], notice: true },
    ],
    [
      'paused, told already',
      facts({ body: '@qwen hi' }, { paused: true, pauseNoticed: true }),
      { kind: 'paused', targets: ['qwen'], notice: false },
    ],
    [
      'paused, a bot asking: no notice',
      facts({ body: '@coder hi', sender: QWEN.userId, fromBot: true }, { paused: true }),
      { kind: 'paused', targets: ['coder'], notice: false },
    ],
    [
      'over the rate limit, first time',
      facts({ body: '@qwen hi' }, { rate: () => ({ allowed: false, notify: true, retryAfterMs: 30_000 }) }),
      { kind: 'rate-limited', targets: ['qwen'], notice: true, retryAfterMs: 30_000 },
    ],
    [
      'over the rate limit, told already',
      facts({ body: '@qwen hi' }, { rate: () => ({ allowed: false, notify: false, retryAfterMs: 5000 }) }),
      { kind: 'rate-limited', targets: ['qwen'], notice: false, retryAfterMs: 5000 },
    ],
  ])('%s', (_name, f, expected) => expect(decide(f)).toEqual(expected));

  it("asks the rate limiter only for a person's message some bot would answer", () => {
    let asked = 0;
    const rate = () => {
      asked++;
      return allowed;
    };
    decideRoute(facts({ body: 'hello all' }, { rate }));
    decideRoute(facts({ body: '@qwen hi' }, { rate, paused: true }));
    decideRoute(facts({ body: '@coder hi', sender: QWEN.userId, fromBot: true }, { rate }));
    decideRoute(facts({ body: '@qwen hi' }, { rate, answered: new Set([QWEN.userId]) }));
    expect(asked).toBe(0);
    decideRoute(facts({ body: '@qwen hi' }, { rate }));
    expect(asked).toBe(1);
  });
});
