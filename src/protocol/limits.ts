// The bounds of the socket protocol: message sizes, batching, timeouts and
// connection counts, which keep a runaway client from costing the daemon memory.

// Requests are a few hundred bytes; the largest frame the daemon sends is a
// result with a bounded log tail. 64 KiB covers both with room to spare.
export const MAX_MESSAGE_BYTES = 64 * 1024;
// One log line on the wire; longer lines are cut (the install log keeps them whole).
export const MAX_LOG_LINE_CHARS = 2048;
// A log event carries the lines one source wrote in a row, up to about this
// many characters: even fully escaped, its frame stays under MAX_MESSAGE_BYTES.
export const LOG_BATCH_CHARS = 8 * 1024;
// Lines of the log that travel with a failed result.
export const LOG_TAIL_LINES = 20;
// A client that stops reading is dropped once this much waits for it.
export const MAX_PENDING_BYTES = 1024 * 1024;
// An incomplete frame older than this closes the connection.
export const MESSAGE_TIMEOUT_MS = 10_000;
// Connections at once on each socket (node-ipc's maxConnections: Node closes
// one over it as soon as it is accepted). Calamares, a CLI or two and status
// readers need a handful; more is a runaway client.
export const MAX_CONNECTIONS = 32;
// Of those on the socket group's, at most this many per user other than root
// (the daemon's peer limit): 8 of 32 leave room for three more users, or a
// user and root, even when one holds all of its own.
export const MAX_CONNECTIONS_PER_USER = 8;
// Watching connections (status --watch, Calamares) on the socket group's
// socket: the idle timeout spares them, so at most half the socket's, and the
// other half always answers a request (two users at their limit cannot fill it).
export const MAX_WATCHERS = 16;
// While an install runs, its last progress event is sent again at least this
// often, so a client can tell a quiet phase (evaluating NixOS) from a dead daemon.
export const HEARTBEAT_MS = 5_000;
