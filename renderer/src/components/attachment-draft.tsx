// A file about to be sent, above the composer: chosen with the attach button, pasted, or dropped on the room; an
// image previewed from the file itself (nothing leaves the page before Send), the upload's progress once it goes,
// and what went wrong if it failed. The composer's text becomes its caption.
import { useEffect, useRef, useState } from 'react';
import { isPreviewableImage } from '../lib/attachments.ts';
import { formatBytes } from '../lib/format.ts';

export interface AttachmentDraft {
  file: File | undefined;
  /** A blob: URL of the chosen image, for its preview. */
  preview: string | undefined;
  /** 0..1 while uploading. */
  progress: number | undefined;
  error: string | undefined;
  set(file: File): void;
  clear(): void;
  /** Runs the upload and send; true once sent (the draft is then cleared). */
  send(run: (file: File, onProgress: (fraction: number) => void) => Promise<void>): Promise<boolean>;
}

export function useAttachmentDraft(): AttachmentDraft {
  const [file, setFile] = useState<File>();
  const [preview, setPreview] = useState<string>();
  const [progress, setProgress] = useState<number>();
  const [error, setError] = useState<string>();
  const sending = useRef(false);
  useEffect(() => {
    if (!file || !isPreviewableImage(file.type)) return setPreview(undefined);
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);
  const clear = () => {
    setFile(undefined);
    setProgress(undefined);
    setError(undefined);
  };
  return {
    file,
    preview,
    progress,
    error,
    set: (f) => {
      if (sending.current) return;
      clear();
      setFile(f);
    },
    clear,
    async send(run) {
      if (!file || sending.current) return false;
      sending.current = true;
      setError(undefined);
      setProgress(0);
      try {
        await run(file, setProgress);
        clear();
        return true;
      } catch (err) {
        setProgress(undefined);
        setError(`Not sent: ${(err as Error).message || 'the upload failed'}. Try again.`);
        return false;
      } finally {
        sending.current = false;
      }
    },
  };
}

export function AttachmentDraftView({ draft }: { draft: AttachmentDraft }) {
  const { file, preview, progress, error } = draft;
  if (!file) return null;
  const percent = progress === undefined ? undefined : Math.round(progress * 100);
  return (
    <div className="attachment-draft" data-testid="attachment-draft">
      {preview ? (
        <img className="attachment-draft-preview" src={preview} alt={`Preview of ${file.name}`} />
      ) : (
        <span className="file-card-icon" aria-hidden="true">
          📄
        </span>
      )}
      <span className="attachment-draft-name">
        {file.name} <span className="muted">{formatBytes(file.size)}</span>
      </span>
      {percent !== undefined && (
        <div
          className="progress-track"
          role="progressbar"
          aria-label={`Uploading ${file.name}`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={percent}
        >
          <div className="progress-fill" style={{ width: `${percent}%` }} />
        </div>
      )}
      {error && <span className="msg-error">{error}</span>}
      {percent === undefined && (
        <button type="button" className="icon-button" onClick={draft.clear} aria-label={`Remove ${file.name}`}>
          ×
        </button>
      )}
    </div>
  );
}

/** The attach button: a file chooser behind it (its input kept for tests and keyboard users alike). */
export function AttachButton({ onFile }: { onFile: (file: File) => void }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <input
        ref={input}
        type="file"
        className="visually-hidden"
        data-testid="attach-input"
        aria-label="Choose a file to attach"
        tabIndex={-1}
        onChange={(e) => {
          const f = e.target.files?.[0];
          if (f) onFile(f);
          e.target.value = '';
        }}
      />
      <button type="button" className="button" onClick={() => input.current?.click()} aria-label="Attach a file">
        Attach
      </button>
    </>
  );
}

/** The first file a paste or drop carries, if any. */
export function firstFile(data: DataTransfer | null): File | undefined {
  return data && data.files.length > 0 ? (data.files[0] ?? undefined) : undefined;
}
