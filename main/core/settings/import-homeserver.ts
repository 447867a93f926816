// The `homeserver` of a matrix-agent-room config: a mapping with `url`, or the URL itself as a string (both
// forms are in use). A public URL becomes the external homeserver; loopback and Docker Compose names mean
// the homeserver ran beside the bots, so Agent Room's bundled one takes its place.
import type { Settings } from '../../common/settings-schema.ts';
import { hostKind, isRecord, parseHttpUrl, reportUnknownKeys, urlText } from './import-support.ts';
import type { ImportReport } from './import-support.ts';

export function mapHomeserver(value: unknown, settings: Settings, report: ImportReport): void {
  if (value === undefined) return;
  let raw: unknown;
  let key: string;
  if (typeof value === 'string') {
    raw = value;
    key = 'homeserver';
  } else if (isRecord(value)) {
    reportUnknownKeys(value, ['url'], 'homeserver', report);
    if (value.url === undefined) return;
    raw = value.url;
    key = 'homeserver.url';
  } else {
    report.notMapped.push('homeserver: expected a URL or a mapping with "url"; kept the current homeserver setting.');
    return;
  }
  const url = typeof raw === 'string' ? parseHttpUrl(raw) : undefined;
  if (!url) {
    report.notMapped.push(`${key}: ${JSON.stringify(raw)} is not an http(s) URL; kept the current homeserver setting.`);
    return;
  }
  const kind = hostKind(url);
  if (kind === 'remote') {
    const text = urlText(url);
    settings.homeserver = { mode: 'external', url: text, registrationTokenRef: 'homeserver.registrationToken' };
    report.mapped.push(`${key} ${text} → external homeserver ${text} (Agent Room will not start its own).`);
    report.stillNeeded.push(
      `The registration token of ${text}: a matrix-agent-room config does not hold it, and Agent Room needs it to create your account and the bot accounts there. ` +
        `Give it when you start: \`agent-room serve --registration-token T\` (the URL is in the settings now; \`agent-room serve --homeserver-url ${text} --registration-token T\` gives both). ` +
        "For accounts that already exist there, give each one's password instead: `agent-room set-password <owner|bot id>`.",
    );
    return;
  }
  const why =
    kind === 'loopback'
      ? 'a loopback address'
      : `"${url.hostname}", a Docker Compose service name unreachable outside Docker`;
  settings.homeserver = { mode: 'bundled', serverName: 'agent-room.localhost', port: 0, lanAccess: false };
  report.mapped.push(`${key} ${urlText(url)} is ${why} → Agent Room's bundled homeserver is used instead.`);
}
