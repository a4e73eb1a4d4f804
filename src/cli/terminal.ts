// Colour only where a person reads it: a terminal, unless NO_COLOR is set
// (https://no-color.org: present and not empty) or the terminal is dumb.
export interface Style {
  bold(text: string): string;
  red(text: string): string;
  green(text: string): string;
  dim(text: string): string;
}

const sgr = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;
const same = (text: string) => text;

export const PLAIN: Style = { bold: same, red: same, green: same, dim: same };
const COLOURED: Style = { bold: sgr(1, 22), red: sgr(31, 39), green: sgr(32, 39), dim: sgr(2, 22) };

export function isTerminal(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true;
}

export function styleFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): Style {
  const noColour = (env.NO_COLOR ?? '') !== '' || env.TERM === 'dumb';
  return isTerminal(stream) && !noColour ? COLOURED : PLAIN;
}
