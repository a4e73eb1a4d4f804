// What every install stage gets: where to log, how to report phase and
// progress, the cancel signal, and the daemon's settings.
import type { Phase } from '../protocol/vocabularies.js';

export interface JobSettings {
  configDirs: readonly string[];
  // The NixOS expression the build evaluates (`<nixpkgs/nixos>` by default).
  nixosExpr: string;
  // The ISO's own nixpkgs (passed as -I nixpkgs=...), so nothing is looked up.
  nixpkgs: string | null;
  // The live system's channel profile; copied to the target when it exists.
  channelProfile: string;
  // Facts about the ISO's own configuration, made at ISO build time (nix/manifest.nix).
  manifest: string | null;
  // The group allowed to use the daemon (the live user's): its members' configuration folders are trusted.
  socketGid: number;
}

export interface CopyCounts {
  bytesDone: number;
  bytesTotal: number;
  pathsDone: number;
  pathsTotal: number;
  // The copy's time left while it runs, once there is an estimate (src/copy/time-left.ts).
  secondsLeft?: number;
}

// What running an external command needs: somewhere to log its lines, and a cancel signal.
export interface CommandContext {
  signal: AbortSignal;
  // The installer's own lines: what it does, finds and decides (the journal gets these).
  log(source: string, line: string, level?: 'info' | 'warn' | 'error'): void;
  // A command's output: the install log and the clients get it, the journal does not (a build prints thousands of lines).
  output(source: string, line: string, level?: 'info' | 'warn' | 'error'): void;
  // Lines recently logged, for error descriptions.
  recentLines(source: string, count: number): string[];
}

export interface JobContext extends CommandContext {
  installId: string;
  root: string;
  settings: JobSettings;
  phase(phase: Phase): void;
  // Progress within the current phase, 0..1, plus the copy counts in the copy
  // phase and what is happening now ("building 2 of 5: linux").
  progress(phaseFraction: number, counts?: CopyCounts, detail?: string): void;
}
