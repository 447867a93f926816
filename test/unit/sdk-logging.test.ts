// matrix-js-sdk's log routed into the app's log: warnings and errors only, tokens masked, never throwing.
import { describe, expect, it } from 'vitest';
import { logger as sdkRootLogger } from 'matrix-js-sdk/lib/logger.js';
import { createMemoryLogger } from '../../main/core/logging/logger.ts';
import { routeSdkLogs, scrubTokens } from '../../main/core/logging/sdk-logging.ts';

describe('SDK log routing', () => {
  it('masks access tokens wherever they appear in a message', () => {
    expect(scrubTokens('GET /sync?access_token=syt_b3duZXI_KvUTmjIZ_0abc&since=s1')).toBe(
      'GET /sync?access_token=[redacted]&since=s1',
    );
    expect(scrubTokens('Authorization: Bearer abc.DEF-123')).toBe('Authorization: Bearer [redacted]');
    expect(scrubTokens('token syt_Ym90_xyz_1 refused')).toBe('token syt_[redacted] refused');
    expect(scrubTokens('refresh syr_abc and mat_Qx9 (MAS)')).toBe('refresh syr_[redacted] and mat_[redacted] (MAS)');
    expect(scrubTokens(`{"access_token":"abcdef123","user_id":"@a:x"}`)).toBe(
      `{"access_token":"[redacted]","user_id":"@a:x"}`,
    );
    expect(scrubTokens(`{ access_token: 'conduitStyleToken', password: 'hunter2' }`)).toBe(
      `{ access_token: '[redacted]', password: '[redacted]' }`,
    );
  });

  it('passes warnings and errors on (masked), drops debug and info, and survives odd arguments', () => {
    const { logger, records } = createMemoryLogger('debug');
    routeSdkLogs(logger);
    const child = sdkRootLogger.getChild('[Test]');
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    child.debug('chatter');
    child.info('more chatter');
    child.warn('request failed for syt_secret_token_1', circular, 10n);
    child.error(new Error('boom'));
    const routed = records.filter((r) => typeof r.sdk === 'string');
    expect(routed.map((r) => r.msg)).toEqual([
      expect.stringMatching(/^request failed for syt_\[redacted\] <ref \*1> \{ a: 1, self: \[Circular \*1\] \} 10n$/),
      'boom',
    ]);
    expect(JSON.stringify(records)).not.toContain('secret_token');
  });
});
