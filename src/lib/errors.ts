// Errors the client raises itself, each with the exit code it means (DESIGN.md exit-code table).

/** Bad input from the user: exit 2 (255 for exec/attach). */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** No credentials, or credentials refused: exit 4. */
export class AuthError extends Error {
  readonly exitCode = 4;
  constructor(message: string) {
    super(message);
    this.name = 'AuthError';
  }
}

/** A local file (config, state, context) that cannot be used: exit 1, naming the file. */
export class FileError extends Error {
  readonly exitCode = 1;
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'FileError';
  }
}

/** The operation failed in a way that is neither usage nor auth: exit 1. */
export class OperationError extends Error {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = 'OperationError';
  }
}
