// Which of a task's models answers first: a request that needs an answer fast takes the first one already loaded
// on this machine, a complex one the last listed (the most capable), any other the first listed. The rest follow
// in the task's order, so a failure still falls through the task before the bot's own model.
import type { TaskConfig } from '../../common/settings-master.ts';
import type { RequestSignals } from './request-signals.ts';
import type { Candidate, PlannedTask } from './router-rules.ts';

export interface TaskModelFacts {
  isLocal: (model: string) => boolean;
  isLoaded: (model: string) => boolean;
}

/** The task's models in the order to try them, each with why; `source` says how the task was chosen. */
export function planTask(
  task: TaskConfig,
  signals: Pick<RequestSignals, 'complexity' | 'latency' | 'why'>,
  facts: TaskModelFacts,
  source: string,
): PlannedTask {
  const head = `task ${task.name} (${source})${task.reason ? `: ${task.reason}` : ''}`;
  const because = signals.why.length ? ` (${signals.why.join(', ')})` : '';
  let first = 0;
  let why = 'its first model';
  if (signals.latency === 'fast') {
    const loaded = task.models.findIndex((m) => facts.isLocal(m) && facts.isLoaded(m));
    if (loaded >= 0) {
      first = loaded;
      why = `its first model already loaded here: the request wants a fast answer${because}`;
    }
  } else if (signals.complexity === 'high' && task.models.length > 1) {
    first = task.models.length - 1;
    why = `its most capable model (listed last): the request is complex${because}`;
  }
  const models: Candidate[] = [{ model: task.models[first] as string, reason: `${head}; ${why}` }];
  task.models.forEach((model, i) => {
    if (i !== first) models.push({ model, reason: `${head}; model #${i + 1} of the task` });
  });
  return { name: task.name, models };
}
