// The daemon's and CLI's release (kept equal to package.json's version).
export const VERSION = '0.1.0';
