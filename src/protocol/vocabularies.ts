// The words of the protocol: each list of names a field may hold, in order.

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

export const CHOICE_KEYS = [
  'hostname',
  'fullname',
  'firmwareType',
  'bootLoaderPath',
  'timezone',
  'locale',
  'keyboardLayout',
  'keyboardVariant',
  'keyboardVConsoleKeymap',
  // Calamares' localeConf: the LC_* categories set apart from the language.
  'LC_ADDRESS',
  'LC_IDENTIFICATION',
  'LC_MEASUREMENT',
  'LC_MONETARY',
  'LC_NAME',
  'LC_NUMERIC',
  'LC_PAPER',
  'LC_TELEPHONE',
  'LC_TIME',
] as const;
export type ChoiceKey = (typeof CHOICE_KEYS)[number];

// A setting an installer choice sets: a name of nix/choice-options.json (choice-options.ts).
export type ChoiceSetting = string;

export const CHECK_NAMES = ['source', 'flake', 'evaluates', 'user', 'desktop', 'bootloader', 'passwords', 'offline'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export const THEN_ACTIONS = ['reboot', 'poweroff', 'stay'] as const;
export type ThenAction = (typeof THEN_ACTIONS)[number];
