// What an unattended install's answer file says, as the stages read it (the
// disk's, the pipeline's); src/answers/answer-file.ts checks the file into it.
import type { InstallChoices } from '../protocol/messages.js';
import type { ThenAction } from '../protocol/vocabularies.js';
import { InstallError } from './install-error.js';

export const LAYOUT_TYPES = ['efi-ext4', 'bios-ext4'] as const;
export type LayoutType = (typeof LAYOUT_TYPES)[number];

export interface Encryption {
  // Absolute path of the file holding the LUKS passphrase.
  passphraseFile: string;
  // Its length less a trailing newline: what cryptsetup reads of it (--keyfile-size). Set once the file is read.
  passphraseBytes: number;
}

export interface Layout {
  type: LayoutType;
  // 0: no swap partition.
  swapBytes: number;
  encrypt: Encryption | null;
}

export interface Answers {
  // The answer file these came from.
  file: string;
  disk: string;
  // null: none given; the configuration's disko layout is used (refused if it has none).
  layout: Layout | null;
  wipe: boolean;
  user?: string;
  desktop?: string;
  passwordHash?: string;
  then: ThenAction;
  // Host name, time zone, language and keyboard, as Calamares' pages would give them.
  choices: InstallChoices;
}

// A problem with one field of the answer file.
export class AnswerError extends InstallError {
  declare readonly field: string;

  constructor(field: string, title: string, description: string) {
    super('answers-invalid', title, description, field);
    this.name = 'AnswerError';
  }
}
