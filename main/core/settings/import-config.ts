// `agent-room import`: reads a YAML file and maps what it holds, a matrix-agent-room bots config, an AIMatrix
// master agent config, or both in one file, into the settings, with one report.
import type { Settings } from '../../common/settings-schema.ts';
import { AIMATRIX_KEYS, mapAimatrix } from './import-aimatrix.ts';
import { emptyResult, mapAgentRoomRoot, parseYamlDocument, TOP_KEYS, validated } from './import-yaml.ts';
import type { ImportResult } from './import-yaml.ts';

export type ImportFormat = 'matrix-agent-room' | 'aimatrix' | 'both';

export interface ConfigImportResult extends ImportResult {
  /** What the file was read as. */
  format: ImportFormat;
}

export function formatOf(root: Record<string, unknown>): ImportFormat {
  const has = (keys: readonly string[]) => keys.some((k) => Object.hasOwn(root, k));
  const aimatrix = has(AIMATRIX_KEYS);
  // A file with neither is read as matrix-agent-room's, whose report then says that it defines no models.
  if (!aimatrix) return 'matrix-agent-room';
  return has(TOP_KEYS) ? 'both' : 'aimatrix';
}

export function importConfig(
  yamlText: string,
  env: Record<string, string | undefined>,
  base?: Settings,
): ConfigImportResult {
  const { doc, root } = parseYamlDocument(yamlText);
  const format = formatOf(root);
  const result = emptyResult(base);
  if (format !== 'aimatrix') mapAgentRoomRoot(root, env, result, format === 'both' ? AIMATRIX_KEYS : []);
  if (format !== 'matrix-agent-room') mapAimatrix(doc, root, result, format === 'aimatrix');
  return { ...validated(result), format };
}
