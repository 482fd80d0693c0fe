/** A usage mistake that is not in the pipeline file (bad flag, unknown task): exit code 2, message and hint. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}
