// A received attachment in the timeline: an image's preview (the server's thumbnail through authenticated media, or
// the file decrypted in the page in an encrypted room), or a file card with its name, size and a download button.
import { useEffect, useState } from 'react';
import type { MatrixClient } from 'matrix-js-sdk';
import type { ShownAttachment } from '../lib/attachments.ts';
import { formatBytes } from '../lib/format.ts';
import { downloadAttachment, previewUrl } from '../matrix/media.ts';

/** The preview's blob: URL once fetched; `failed` when it could not be. */
function usePreview(client: MatrixClient | undefined, a: ShownAttachment, size: number) {
  const [state, setState] = useState<{ src?: string; failed?: boolean }>({});
  useEffect(() => {
    let live = true;
    setState({});
    if (!client) return;
    previewUrl(client, a, size).then(
      (src) => live && setState({ src }),
      () => live && setState({ failed: true }),
    );
    return () => {
      live = false;
    };
    // One preview per file: keyed by its mxc, not by the (re-created) attachment object.
  }, [client, a.mxc, size]);
  return state;
}

export function AttachmentImage({
  client,
  attachment,
  size = 480,
  className = 'attachment-image',
}: {
  client?: MatrixClient;
  attachment: ShownAttachment;
  size?: number;
  className?: string;
}) {
  const { src, failed } = usePreview(client, attachment, size);
  const ratio = attachment.w && attachment.h ? { aspectRatio: `${attachment.w} / ${attachment.h}` } : {};
  if (failed) return <span className="attachment-missing">Image {attachment.name} could not be loaded</span>;
  return src ? (
    <img className={className} src={src} alt={attachment.name} style={ratio} data-testid="attachment-image" />
  ) : (
    <span
      className={`${className} attachment-loading`}
      style={ratio}
      role="img"
      aria-label={`Loading ${attachment.name}`}
    />
  );
}

function FileCard({ client, attachment }: { client?: MatrixClient; attachment: ShownAttachment }) {
  const [error, setError] = useState<string>();
  const save = async () => {
    if (!client) return;
    try {
      const url = URL.createObjectURL(await downloadAttachment(client, attachment));
      const link = Object.assign(document.createElement('a'), { href: url, download: attachment.name });
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <div className="file-card" data-testid="attachment-file">
      <span className="file-card-icon" aria-hidden="true">
        📄
      </span>
      <span className="file-card-name">{attachment.name}</span>
      {attachment.size !== undefined && <span className="file-card-size">{formatBytes(attachment.size)}</span>}
      <button
        type="button"
        className="link-button"
        onClick={() => void save()}
        aria-label={`Download ${attachment.name}`}
      >
        Download
      </button>
      {error && <span className="msg-error">{error}</span>}
    </div>
  );
}

export function AttachmentView({ client, attachment }: { client?: MatrixClient; attachment: ShownAttachment }) {
  return attachment.kind === 'image' ? (
    <figure className="msg-attachment">
      <AttachmentImage client={client} attachment={attachment} />
    </figure>
  ) : (
    <FileCard client={client} attachment={attachment} />
  );
}
