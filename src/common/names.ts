/** Raised when a name given for a client, token or provider cannot be used. */
export class InvalidName extends Error {}

const CONTROL_CHARACTERS = /\p{Cc}/u;

/** Checks a display name: 1 to 200 characters, no control characters (tabs and newlines break listings). */
export function checkName(value: string, what: string): string {
  if (value.trim().length === 0) {
    throw new InvalidName(`The ${what} name must not be empty`);
  }
  if (value.length > 200) {
    throw new InvalidName(
      `The ${what} name must be at most 200 characters, not ${value.length}`,
    );
  }
  if (CONTROL_CHARACTERS.test(value)) {
    throw new InvalidName(
      `The ${what} name must not contain control characters such as tabs or newlines`,
    );
  }
  return value;
}
