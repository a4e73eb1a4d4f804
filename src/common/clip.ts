// Text kept for later (error descriptions, log tails) is cut to MAX and copied:
// V8 keeps a whole string alive behind any slice of it, so a line cut from a
// 100 kB trace would otherwise hold all 100 kB for as long as it is kept.
export function clip(text: string, max: number): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return cut.length < 13 ? cut : Buffer.from(cut, 'utf8').toString('utf8');
}
