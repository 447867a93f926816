// The one byte-size formatter: the terminal's labels (KB, MB) and the window's (KiB, MiB), powers of 1024 in both.
import { describe, expect, it } from 'vitest';
import { formatBytes as cliBytes } from '../../main/cli/progress-bar.ts';
import { formatBytes, TERMINAL_BYTES, WINDOW_BYTES } from '../../main/common/format-bytes.ts';
import { formatBytes as windowBytes } from '../../renderer/src/lib/format.ts';

describe('formatBytes', () => {
  it.each([
    [0, '0 B', '0 B'],
    [512, '512 B', '512 B'],
    [1536, '1.5 KB', '1.5 KiB'],
    [523_264, '511 KB', '511 KiB'],
    [3 * 1024 ** 2, '3.0 MB', '3.0 MiB'],
    [45 * 1024 ** 2, '45.0 MB', '45 MiB'],
    [379.4 * 1024 ** 2, '379 MB', '379 MiB'],
    [24 * 1024 ** 3, '24.0 GB', '24 GiB'],
    [5 * 1024 ** 5, '5120 TB', '5120 TiB'],
  ])('%d bytes: terminal %j, window %j', (bytes, terminal, window) => {
    expect(formatBytes(bytes, TERMINAL_BYTES)).toBe(terminal);
    expect(formatBytes(bytes, WINDOW_BYTES)).toBe(window);
    expect(cliBytes(bytes)).toBe(terminal);
    expect(windowBytes(bytes)).toBe(window);
  });

  it('says nothing for no size, and 0 for a negative one', () => {
    expect(windowBytes(undefined)).toBe('');
    expect(formatBytes(Number.NaN, TERMINAL_BYTES)).toBe('');
    expect(formatBytes(-5, WINDOW_BYTES)).toBe('0 B');
  });
});
