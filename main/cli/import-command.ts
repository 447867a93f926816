// `agent-room import <file.yaml>`: brings a matrix-agent-room bots config or an AIMatrix master agent config into the settings.
import { readFile } from 'node:fs/promises';
import { createLogger } from '../core/logging/logger.ts';
import { dataPaths } from '../core/paths.ts';
import { importConfig, type ImportFormat } from '../core/settings/import-config.ts';
import { AgentRoomImportError } from '../core/settings/import-yaml.ts';
import { FileSecretStore } from '../core/settings/secret-store.ts';
import { ConfSettingsStore } from '../core/settings/settings-store.ts';

const FORMAT_NAMES: Record<ImportFormat, string> = {
  'matrix-agent-room': 'a matrix-agent-room bots config',
  aimatrix: 'an AIMatrix master agent config',
  both: 'a matrix-agent-room bots config with AIMatrix routing, resources and pipeline',
};

export async function runImport(
  file: string,
  options: { dataDir: string; json?: boolean },
  out: (s: string) => void = console.log,
): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    console.error(`Cannot read ${file}: ${(err as Error).message}. Check the path.`);
    return 1;
  }
  const paths = dataPaths(options.dataDir);
  const logger = createLogger({ logDir: paths.logs, name: 'app' });
  const store = new ConfSettingsStore({ dataDir: paths.root, logger });
  let result;
  try {
    result = importConfig(text, process.env, store.get());
  } catch (err) {
    if (err instanceof AgentRoomImportError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  store.set(result.settings);
  const secrets = new FileSecretStore({ file: paths.secrets });
  for (const [name, value] of Object.entries(result.secrets)) await secrets.set(name, value);
  const { report } = result;
  if (options.json) {
    out(
      JSON.stringify(
        { format: result.format, report, secretsStored: Object.keys(result.secrets), settingsFile: store.path },
        null,
        2,
      ),
    );
  } else {
    out(`Imported ${file} (${FORMAT_NAMES[result.format]}) into ${store.path}.`);
    out(`\nMapped (${report.mapped.length}):`);
    for (const line of report.mapped) out(`  ✓ ${line}`);
    out(`\nNot mapped (${report.notMapped.length}):`);
    for (const line of report.notMapped) out(`  ✗ ${line}`);
    if (report.warnings.length > 0) {
      out(`\nWarnings (${report.warnings.length}):`);
      for (const line of report.warnings) out(`  ! ${line}`);
    }
    if (report.stillNeeded.length > 0) {
      out(`\nStill needed before Agent Room can start (${report.stillNeeded.length}):`);
      for (const line of report.stillNeeded) out(`  → ${line}`);
    }
    const names = Object.keys(result.secrets);
    if (names.length > 0)
      out(`\n${names.length} secret(s) stored in ${paths.secrets} (readable by you only): ${names.join(', ')}`);
  }
  logger.flush();
  return 0;
}
