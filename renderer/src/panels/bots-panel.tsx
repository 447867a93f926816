// Bots editor: add, remove and edit bots (name, avatar, persona, model, temperature, local-only,
// keep-alive); saved through settings.update, which the provisioner and the bot runner follow.
import { useEffect, useState } from 'react';
import type { BotInfo } from '../../../main/common/contract.ts';
import type { BotConfig, Settings } from '../../../main/common/settings-schema.ts';
import { errorText, useApi } from '../hooks/control.ts';
import { botFromModel } from '../lib/format.ts';

type Draft = Pick<
  BotConfig,
  'id' | 'displayName' | 'model' | 'systemPrompt' | 'temperature' | 'localOnly' | 'keepAliveSeconds'
> & { avatar?: string };

interface BotFormProps {
  bot: Draft;
  /** Its place in the list, for the ids that tie labels to help. */
  index: number;
  models: string[];
  onChange: (patch: Partial<Draft>) => void;
}

/** One bot's card: its fields, persona and remove button. */
function BotForm({ bot: b, index: i, models, onChange, onRemove }: BotFormProps & { onRemove: () => void }) {
  return (
    <fieldset className="card bot-form">
      <legend>{b.displayName || 'New bot'}</legend>
      <BotFields bot={b} index={i} models={models} onChange={onChange} />
      <small id={`id-help-${i}`} className="muted">
        The id becomes the bot's Matrix user name.
      </small>
      <label className="block">
        <span className="label">Persona</span>
        <textarea rows={3} value={b.systemPrompt} onChange={(e) => onChange({ systemPrompt: e.target.value })} />
      </label>
      <button type="button" className="button button-danger" onClick={onRemove} aria-label={`Remove ${b.displayName}`}>
        Remove
      </button>
    </fieldset>
  );
}

/** Name, id, model, avatar, temperature, keep-alive and local-only. */
function BotFields({ bot: b, index: i, models, onChange }: BotFormProps) {
  return (
    <div className="grid">
      <label>
        <span className="label">Name</span>
        <input value={b.displayName} onChange={(e) => onChange({ displayName: e.target.value })} />
      </label>
      <label>
        <span className="label">Id</span>
        <input value={b.id} onChange={(e) => onChange({ id: e.target.value })} aria-describedby={`id-help-${i}`} />
      </label>
      <label>
        <span className="label">Model</span>
        <select value={b.model} onChange={(e) => onChange({ model: e.target.value })}>
          {[...new Set([b.model, ...models])].filter(Boolean).map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span className="label">Avatar (mxc:// or image URL)</span>
        <input value={b.avatar ?? ''} onChange={(e) => onChange({ avatar: e.target.value || undefined })} />
      </label>
      <label>
        <span className="label">Temperature: {b.temperature.toFixed(1)}</span>
        <input
          type="range"
          min={0}
          max={2}
          step={0.1}
          value={b.temperature}
          onChange={(e) => onChange({ temperature: Number(e.target.value) })}
        />
      </label>
      <label>
        <span className="label">Keep loaded (seconds)</span>
        <input
          type="number"
          min={0}
          value={b.keepAliveSeconds}
          onChange={(e) => onChange({ keepAliveSeconds: Math.max(0, Math.round(Number(e.target.value))) })}
        />
      </label>
      <label className="check">
        <input type="checkbox" checked={b.localOnly} onChange={(e) => onChange({ localOnly: e.target.checked })} />{' '}
        Local only (never sent to a cloud endpoint)
      </label>
    </div>
  );
}

export function BotsPanel({ settings, bots }: { settings: Settings; bots: BotInfo[] }) {
  const api = useApi();
  const [drafts, setDrafts] = useState<Draft[]>(settings.bots);
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState(false);
  useEffect(() => setDrafts(settings.bots), [settings.bots]);
  const models = [...new Set(bots.flatMap((b) => b.availableModels).concat(settings.bots.map((b) => b.model)))];

  const update = (i: number, patch: Partial<Draft>) => {
    setSaved(false);
    setDrafts((d) => d.map((b, j) => (j === i ? { ...b, ...patch } : b)));
  };
  const add = () => {
    const model = models[0] ?? '';
    const { id, displayName } = botFromModel(
      model || 'assistant',
      drafts.map((d) => d.id),
    );
    setDrafts((d) => [
      ...d,
      {
        id,
        displayName,
        model,
        systemPrompt: 'You are {display_name}, a helpful AI assistant.',
        temperature: 0.7,
        localOnly: false,
        keepAliveSeconds: 300,
      },
    ]);
  };
  const save = async () => {
    setError(undefined);
    try {
      // Keep fields this editor does not show (maxTokens, fallback, pinned) from the stored bot.
      const merged = drafts.map((d) => ({ ...settings.bots.find((b) => b.id === d.id), ...d }));
      await api.settings.update({ bots: merged });
      setSaved(true);
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section className="panel" aria-labelledby="bots-title">
      <h1 id="bots-title">Bots</h1>
      {drafts.map((b, i) => (
        <BotForm
          key={i}
          bot={b}
          index={i}
          models={models}
          onChange={(patch) => update(i, patch)}
          onRemove={() => setDrafts((d) => d.filter((_, j) => j !== i))}
        />
      ))}
      <div className="row">
        <button type="button" className="button" onClick={add}>
          Add a bot
        </button>
        <button type="button" className="button button-primary" onClick={() => void save()}>
          Save bots
        </button>
        {saved && (
          <span className="ok-text" role="status">
            Saved.
          </span>
        )}
      </div>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
