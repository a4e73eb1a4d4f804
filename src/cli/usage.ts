// Exit codes (README, "Using it") and the errors that mean "the command line
// was wrong": both are the CLI's contract with scripts.
export const EXIT = { ok: 0, failed: 1, usage: 2, unavailable: 3, refused: 4, cancelled: 5 } as const;

export const EXIT_STATUS_TEXT = `Exit status: 0 success, 1 install or check failed, 2 usage error, 3 daemon unavailable,
4 request refused (e.g. an install is already running), 5 install cancelled.`;

export class UsageError extends Error {}

// A usage error as --json prints it: one JSON object on stdout, like every other error a script reads.
export function usageErrorJson(message: string): string {
  const text = message.trim().replace(/^error: /, '');
  return `${JSON.stringify({ type: 'error', data: { code: 'usage', title: text.split('\n')[0], description: text } })}\n`;
}
