// A small padlock (and a warning variant) drawn inline: emoji fonts are missing on many Linux desktops.
export function LockIcon({ warn = false, size = 12 }: { warn?: boolean; size?: number }) {
  return (
    <svg className="lock-icon" width={size} height={size} viewBox="0 0 16 16" aria-hidden="true" focusable="false">
      <path d="M4.5 7V5a3.5 3.5 0 0 1 7 0v2" fill="none" stroke="currentColor" strokeWidth="1.6" />
      <rect x="2.5" y="7" width="11" height="8" rx="1.5" fill="currentColor" />
      {warn && <rect x="7.25" y="8.6" width="1.5" height="4.2" rx="0.7" fill="var(--bg)" />}
    </svg>
  );
}
