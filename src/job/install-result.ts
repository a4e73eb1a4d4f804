// How an install ends, for the person reading it: the result event, and the
// error for a cancel, a stopped service or a fault nothing named.
import { UnsafePathError } from '../fs/beneath.js';
import { PROTOCOL_VERSION, type AppliedChoice, type ErrorInfo, type GrubTarget, type ResultEvent } from '../protocol/messages.js';
import { phaseTitle } from '../protocol/install-phases.js';
import type { Phase } from '../protocol/vocabularies.js';
import { InstallError, errorMessage, type StopReason } from '../common/install-error.js';
import { truncate } from './install-context.js';

const MAX_DESCRIPTION_CHARS = 8000;

// Errors from the file system that a person can do something about.
export function describeUnexpected(error: unknown, root: string): InstallError {
  if (error instanceof UnsafePathError) {
    return new InstallError('target-unsafe', `${error.path} ${error.reason.split(';')[0]}`, `${error.message}. The installer acts as root on the target and never follows a link or passes through a folder someone else could change there. Fix ${error.path}, or install onto an empty partition.`);
  }
  const code = (error as NodeJS.ErrnoException)?.code;
  const message = errorMessage(error);
  if (code === 'ENOSPC') return new InstallError('no-space', 'The target disk is full', `${message}\nFree space on ${root} or choose a larger partition, then start the install again.`);
  if (code === 'EROFS') return new InstallError('read-only', 'The target is read-only', `${message}\nMount the target partitions read-write under ${root}.`);
  if (code === 'EACCES' || code === 'EPERM') return new InstallError('permission-denied', 'Permission denied', `${message}\nThe installer daemon must run as root.`);
  return new InstallError('internal-error', 'The installer hit an unexpected error', `${message}\nThe full log has the details; please report it with the log attached.`);
}

// The error of an install stopped by a cancel or by the service's own stop, in PHASE; AGAIN says what to do about the target.
export function stopError(stopped: StopReason, phase: Phase, again: string): ErrorInfo {
  return stopped === 'cancel'
    ? {
        code: 'cancelled',
        title: 'The install was cancelled',
        description: `Cancelled during "${phaseTitle(phase)}". ${again}`,
      }
    : {
        code: 'service-stopped',
        title: 'The installer service was stopped',
        description: `The installer service stopped during "${phaseTitle(phase)}" (systemctl stop nixos-offline-installer, a shutdown, or SIGTERM to the daemon), so the install did not finish. The target may hold a partial system: start the service (systemctl start nixos-offline-installer), then the install again; paths already copied are reused.`,
      };
}

// The result event, for every way an install ends (the runner's too, when the job itself faults).
export function resultEvent(
  installId: string,
  end: {
    state: ResultEvent['state'];
    error: (ErrorInfo & { field?: string }) | null;
    durationMs: number;
    logTail?: string[];
    logPath?: string | null;
    targetLogPath?: string | null;
    toplevel?: string | null;
    choices?: AppliedChoice[];
    grub?: GrubTarget | undefined;
    then?: ResultEvent['then'];
  },
): ResultEvent {
  const { error } = end;
  return {
    v: PROTOCOL_VERSION,
    installId,
    ok: end.state === 'succeeded',
    state: end.state,
    ...(error && { error: { code: error.code, title: error.title, description: truncate(error.description, MAX_DESCRIPTION_CHARS), ...(error.field !== undefined && { field: error.field }), logTail: end.logTail ?? [] } }),
    logPath: end.logPath ?? null,
    targetLogPath: end.targetLogPath ?? null,
    toplevel: end.toplevel ?? null,
    ...(end.choices && { choices: end.choices }),
    ...(end.grub && { grub: end.grub }),
    durationMs: end.durationMs,
    ...(end.then && { then: end.then }),
  };
}
