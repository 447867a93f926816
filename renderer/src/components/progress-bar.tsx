// A download's progress: a labelled progressbar with bytes and percent (indeterminate when the size is unknown).
import type { PullJob } from '../../../main/common/contract.ts';
import { formatBytes } from '../lib/format.ts';

export function ProgressBar({ job, label }: { job: PullJob; label: string }) {
  const fraction = job.progress?.fraction;
  const percent = fraction === undefined ? undefined : Math.round(Math.min(1, Math.max(0, fraction)) * 1000) / 10;
  const bytes = job.progress?.transferredBytes;
  const total = job.progress?.totalBytes;
  const text =
    job.state === 'done'
      ? 'Done'
      : job.state === 'failed'
        ? `Failed: ${job.error ?? 'unknown error'}`
        : job.state === 'cancelled'
          ? 'Cancelled'
          : `${percent === undefined ? (job.progress?.status ?? 'Starting') : `${percent}%`}${bytes !== undefined ? ` · ${formatBytes(bytes)}${total ? ` of ${formatBytes(total)}` : ''}` : ''}`;
  return (
    <div className={`progress progress-${job.state}`} data-job-id={job.jobId}>
      <div
        className="progress-track"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={job.state === 'done' ? 100 : percent}
        aria-valuetext={text}
      >
        <div className="progress-fill" style={{ width: `${job.state === 'done' ? 100 : (percent ?? 0)}%` }} />
      </div>
      <span className="progress-text">{text}</span>
    </div>
  );
}
