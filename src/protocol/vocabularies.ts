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

// The phases an install goes through, in the order of an unattended install
// (src/job/unattended-stages.ts); an install into a mounted target has all but
// partition, format and mount (src/job/attended-stages.ts).
export const PHASES = ['hardware', 'validate', 'partition', 'format', 'mount', 'stage', 'build', 'copy', 'install', 'report'] as const;
export type Phase = (typeof PHASES)[number];

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

export const CHOICE_SETTINGS = ['hostName', 'timeZone', 'defaultLocale', 'consoleKeyMap', 'xkbLayout', 'xkbVariant'] as const;
export type ChoiceSetting = (typeof CHOICE_SETTINGS)[number];

export const CHECK_NAMES = ['source', 'flake', 'evaluates', 'user', 'desktop', 'bootloader', 'passwords', 'offline'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export const THEN_ACTIONS = ['reboot', 'poweroff', 'stay'] as const;
export type ThenAction = (typeof THEN_ACTIONS)[number];
