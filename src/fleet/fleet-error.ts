// A fleet that cannot be served as asked: which request field, what was found, what to do.
export class FleetError extends Error {
  constructor(
    readonly field: string,
    readonly title: string,
    readonly description: string,
  ) {
    super(`${title}: ${description}`);
  }
}
