// What `agent-room probe` says of paired peers: each one's GPU and memory (from its pairing reply, refreshed when
// asked), and whether it runs a larger model than this machine's plan recommends. Pure: fed plans and records.
import type { InferencePlan } from '../probe/plan.ts';
import { peerEndpointId, type PeerHardware, type PeerRecord } from './peer-store.ts';

/** This machine's hardware as a peer reports it (pairing reply, /peer/info). */
export function hardwareSummary(plan: InferencePlan): PeerHardware {
  return {
    backend: plan.backend,
    gpu: plan.gpu ? { vendor: plan.gpu.vendor, model: plan.gpu.model, vramMiB: plan.gpu.vramMiB } : null,
    memoryBudgetMiB: plan.memoryBudgetMiB,
    recommended: { label: plan.recommended.label, sizeMiB: plan.recommended.sizeMiB },
  };
}

export interface PeerAdvice {
  name: string;
  endpoint: string;
  /** The peer's plan recommends a larger model than this machine's. */
  larger: boolean;
  line: string;
}

function gpuText(h: PeerHardware): string {
  if (!h.gpu) return `no GPU (${h.backend})`;
  const vram = h.gpu.vramMiB === null ? 'shared memory' : `${(h.gpu.vramMiB / 1024).toFixed(1)} GiB VRAM`;
  return `${h.gpu.model}, ${vram} (${h.backend})`;
}

/** One line per peer, the ones that run larger models first. */
export function peerAdvice(local: InferencePlan, peers: readonly PeerRecord[]): PeerAdvice[] {
  // Larger means a bigger recommended file: the fit estimate picks the most capable model that fits.
  const mine = local.recommended.sizeMiB;
  const out = peers.map((p): PeerAdvice => {
    const endpoint = peerEndpointId(p.name);
    const down =
      p.reachable === false ? ` (not reachable at ${p.checkedAt ?? 'the last check'}: ${p.error ?? ''})` : '';
    const trust = p.trustedLocal ? ', trusted-local' : '';
    const h = p.hardware;
    if (!h) return { name: p.name, endpoint, larger: false, line: `${p.name}: hardware unknown${trust}${down}` };
    const larger = h.recommended.sizeMiB > mine;
    const verdict = larger
      ? `runs ${h.recommended.label} (~${h.recommended.sizeMiB} MiB), larger than this machine can (${local.recommended.label}): use openai:${endpoint}/<model>`
      : `runs up to ${h.recommended.label}, no larger than here`;
    return {
      name: p.name,
      endpoint,
      larger,
      line: `${p.name}: ${gpuText(h)}, ${h.memoryBudgetMiB} MiB for models; ${verdict}${trust}${down}`,
    };
  });
  return [...out.filter((a) => a.larger), ...out.filter((a) => !a.larger)];
}
