// Logs one line through serve's console logger and exits: the NO_COLOR test runs it under a pseudo-terminal.
import { createLogger } from '../../main/core/logging/logger.ts';

const logger = createLogger({ console: true });
logger.info({ service: 'homeserver' }, 'console line');
// pino's transport worker flushes on exit.
