// Every way an install can fail, as something a person can act on: a short
// title (Calamares shows it as the dialog title) and a description that says
// what was found and what to do.
import type { ErrorInfo } from '../protocol/messages.js';

export class InstallError extends Error implements ErrorInfo {
  constructor(
    readonly code: string,
    readonly title: string,
    readonly description: string,
    // The answer file's field at fault, where there is one (an AnswerError; a seed's refusal of a fleet target).
    readonly field?: string,
  ) {
    super(`${title}: ${description}`);
    this.name = 'InstallError';
  }
}

export class InstallCancelled extends Error {
  constructor() {
    super('The install was cancelled.');
    this.name = 'InstallCancelled';
  }
}

// What an unexpected error says, whatever was thrown.
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// Why an install's signal was aborted: a person's cancel, or the daemon itself
// stopping (systemctl stop, a shutdown), which the result must not call a cancel.
export type StopReason = 'cancel' | 'service-stopped';

export function stopReason(signal: AbortSignal): StopReason | null {
  if (!signal.aborted) return null;
  return signal.reason === 'service-stopped' ? 'service-stopped' : 'cancel';
}
