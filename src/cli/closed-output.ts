// A reader that stops early (`| head -1`) closes the pipe, and the next write
// fails with EPIPE. The reader had what it wanted: the client leaves quietly
// with exit 0 instead of an unhandled-error trace. An install it started goes
// on in the daemon (the CLI does not ask for cancel-on-disconnect).
export function leaveQuietlyWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
  }
}
