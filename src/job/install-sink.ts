// Where an install's events go (the daemon's runner forwards them to the clients).
import type { LogEvent, PhaseEvent, ProgressEvent } from '../protocol/messages.js';

export interface InstallSink {
  phase(event: PhaseEvent): void;
  progress(event: ProgressEvent): void;
  log(event: LogEvent): void;
}
