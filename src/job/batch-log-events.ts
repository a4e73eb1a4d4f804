// Log lines leave for the clients in batches: the lines one source wrote in a
// row, gathered for at most BATCH_MS. A build printing 50 000 lines then
// costs a few hundred events, not 50 000 (each one a frame, a write and a parse
// in every client). Phase and progress events flush first, so order is kept.
import { LOG_BATCH_CHARS } from '../protocol/limits.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import type { InstallSink } from './install-sink.js';

// Short enough to read as live; long enough that a fast reader seeing one line per turn still sends few events.
const BATCH_MS = 20;

export interface BatchingSink extends InstallSink {
  line(source: string, line: string, level?: 'info' | 'warn' | 'error'): void;
  // Sends what is waiting now (before the result, which does not pass through here).
  flush(): void;
}

export function batchLogEvents(installId: string, sink: InstallSink): BatchingSink {
  let source: string | null = null;
  let level: 'info' | 'warn' | 'error' = 'info';
  let lines: string[] = [];
  let chars = 0;
  let scheduled: NodeJS.Timeout | null = null;

  const flush = () => {
    if (scheduled) clearTimeout(scheduled);
    scheduled = null;
    if (source === null || lines.length === 0) return;
    sink.log({ v: PROTOCOL_VERSION, installId, source, lines, ...(level !== 'info' && { level }) });
    lines = [];
    chars = 0;
  };

  return {
    line(from, line, lineLevel = 'info') {
      if (from !== source || lineLevel !== level || chars + line.length > LOG_BATCH_CHARS) flush();
      source = from;
      level = lineLevel;
      lines.push(line);
      chars += line.length;
      scheduled ??= setTimeout(flush, BATCH_MS);
    },
    log(event) {
      flush();
      sink.log(event);
    },
    phase(event) {
      flush();
      sink.phase(event);
    },
    progress(event) {
      flush();
      sink.progress(event);
    },
    flush,
  };
}
