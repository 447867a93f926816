// A plain status page for serve mode: what runs, what failed and what to do. No scripts.

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

interface HealthLike {
  status?: string;
  services?: Array<{ name: string; state: { status: string; error?: string; hint?: string; detail?: string } }>;
  [key: string]: unknown;
}

export function renderStatusPage(health: unknown): string {
  const h = (health ?? {}) as HealthLike;
  const rows = (h.services ?? [])
    .map((s) => {
      const note = [s.state.detail, s.state.error, s.state.hint].filter(Boolean).join(' — ');
      return `<tr><td>${escapeHtml(s.name)}</td><td class="${escapeHtml(s.state.status)}">${escapeHtml(s.state.status)}</td><td>${escapeHtml(note)}</td></tr>`;
    })
    .join('\n');
  const api = h.api as { running?: number; queued?: number; refused?: number } | undefined;
  const load =
    typeof h.sequencesInUse === 'number'
      ? `<p>Model sequences in use: ${h.sequencesInUse}${api ? ` — API requests running: ${api.running ?? 0}, waiting: ${api.queued ?? 0}, refused (429): ${api.refused ?? 0}` : ''}</p>`
      : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Agent Room — status</title>
<style>
body{font:15px system-ui,sans-serif;margin:2rem;color:#1d2330;background:#fafbfc}
@media (prefers-color-scheme: dark){body{color:#e6e8ee;background:#15171c}}
table{border-collapse:collapse}td,th{padding:.4rem .8rem;border-bottom:1px solid #8884;text-align:left}
.running{color:#1a7f37}.failed{color:#cf222e}.degraded{color:#9a6700}
</style></head><body>
<h1>Agent Room</h1>
<p>Overall: <strong>${escapeHtml(String(h.status ?? 'unknown'))}</strong></p>
<table><thead><tr><th>Service</th><th>State</th><th>Notes</th></tr></thead><tbody>
${rows}
</tbody></table>
${load}
</body></html>`;
}
