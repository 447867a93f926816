// `agent-room api-key create|list|revoke`: the OpenAI-compatible API's keys. They work while serve runs (serve
// reads the key file again when it changes), so unlike import or set-password these need no lock on the folder.
import { ApiKeyError, ApiKeyStore, apiKeysFile } from '../core/api/api-keys.ts';
import type { DataPaths } from '../core/paths.ts';

export type ApiKeyAction =
  { kind: 'create'; name: string } | { kind: 'list'; json: boolean } | { kind: 'revoke'; name: string };

export async function runApiKey(paths: DataPaths, action: ApiKeyAction, controlPort = 8765): Promise<number> {
  const store = new ApiKeyStore({ file: apiKeysFile(paths.state) });
  try {
    if (action.kind === 'create') {
      const { key } = await store.create(action.name);
      console.log(`Created API key "${action.name}":\n\n  ${key}\n`);
      console.log('Copy it now: it will not be shown again (only its hash is kept).');
      console.log(
        `Use it as the Bearer key of http://127.0.0.1:${controlPort}/v1 (OpenAI-compatible); it works at once.`,
      );
      return 0;
    }
    if (action.kind === 'revoke') {
      if (await store.revoke(action.name)) {
        console.log(`Revoked API key "${action.name}": requests with it are refused from now on.`);
        return 0;
      }
      const names = (await store.list()).map((k) => k.name);
      console.error(`No API key is called "${action.name}" (keys: ${names.join(', ') || 'none'}).`);
      return 1;
    }
    const keys = await store.list();
    if (action.json) console.log(JSON.stringify(keys, null, 2));
    else if (keys.length === 0) console.log('No API keys yet: agent-room api-key create <name>');
    else for (const k of keys) console.log(`${k.name.padEnd(24)} ${k.prefix}…  created ${k.createdAt}`);
    return 0;
  } catch (err) {
    if (err instanceof ApiKeyError) {
      console.error(`${err.message}${err.hint ? ` ${err.hint}` : ''}`);
      return 1;
    }
    throw err;
  }
}
