// Entry of the chat window: picks the transport (preload bridge or HTTP/WebSocket) and mounts the app.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './styles.css';
import { App } from './app.tsx';
import { getApi } from './transport/index.ts';

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App api={getApi()} />
    </StrictMode>,
  );
}
