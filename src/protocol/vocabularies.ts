// The words of the protocol: each list of names a field may hold, in order.
import { readNixTable } from './nix-table.js';

// fleet-serve: a seed serves network installs on one interface (src/fleet/, protocol/fleet.ts).
export const REQUEST_TYPES = ['status', 'install', 'cancel', 'validate', 'fleet-serve'] as const;
export type RequestType = (typeof REQUEST_TYPES)[number];

export const EVENT_TYPES = ['reply', 'phase', 'progress', 'log', 'result', 'validation'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export function isRequestType(type: string): type is RequestType {
  return (REQUEST_TYPES as readonly string[]).includes(type);
}

export function isEventType(type: string): type is EventType {
  return (EVENT_TYPES as readonly string[]).includes(type);
}

// A phase of an install: a name of nix/install-phases.json (install-phases.ts
// reads the list; a stage of another name is refused when its list is made).
export type Phase = string;

// Calamares' localeConf categories set apart from the language (i18n.extraLocaleSettings):
// nix/locale-categories.json, which the Calamares module reads too.
export const LOCALE_CATEGORIES: readonly LocaleCategory[] = readNixTable<LocaleCategory[]>('locale-categories.json', (data) =>
  Array.isArray(data) && data.length > 0 && data.every((key) => typeof key === 'string' && /^LC_[A-Z]+$/.test(key)) ? null : 'not a list of LC_* names',
);
export type LocaleCategory = `LC_${string}`;

const PAGE_CHOICE_KEYS = ['hostname', 'fullname', 'firmwareType', 'bootLoaderPath', 'timezone', 'locale', 'keyboardLayout', 'keyboardVariant', 'keyboardVConsoleKeymap'] as const;
export const CHOICE_KEYS: readonly ChoiceKey[] = [...PAGE_CHOICE_KEYS, ...LOCALE_CATEGORIES];
export type ChoiceKey = (typeof PAGE_CHOICE_KEYS)[number] | LocaleCategory;

// A setting an installer choice sets: a name of nix/choice-options.json (choice-options.ts).
export type ChoiceSetting = string;

export const CHECK_NAMES = ['source', 'flake', 'evaluates', 'user', 'desktop', 'bootloader', 'passwords', 'offline'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export const THEN_ACTIONS = ['reboot', 'poweroff', 'stay'] as const;
export type ThenAction = (typeof THEN_ACTIONS)[number];
