// A number with its noun, singular for one: "1 derivation", "2 downloads".
export function counted(count: number, noun: string, plural = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : plural}`;
}
