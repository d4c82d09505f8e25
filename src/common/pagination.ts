/** Raised when a pagination cursor was not made by this service or was altered. */
export class InvalidCursor extends Error {
  constructor() {
    super(
      "The cursor is not valid; pass the nextCursor of a previous page unchanged",
    );
  }
}

/** One page of a list in keyset order, with the cursor of the next page (null on the last page). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Keyset position of the last row of a page: its timestamp in epoch milliseconds, if ordered by one, and id. */
export interface CursorPosition {
  time?: number;
  id: number;
}

/** Encodes a keyset position as an opaque URL-safe string. */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify(position)).toString("base64url");
}

/** Decodes a cursor made by {@link encodeCursor}; throws {@link InvalidCursor} for anything else. */
export function decodeCursor(cursor: string): CursorPosition {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new InvalidCursor();
  }

  const position = value as Partial<CursorPosition> | null;
  if (
    typeof position !== "object" ||
    position === null ||
    !Number.isSafeInteger(position.id) ||
    (position.time !== undefined && !Number.isSafeInteger(position.time))
  ) {
    throw new InvalidCursor();
  }
  return { id: position.id!, time: position.time };
}

/**
 * Builds a page from rows fetched with a limit one higher than the page size: the extra row only shows that
 * another page exists.
 */
export function toPage<T>(
  rows: T[],
  limit: number,
  positionOf: (row: T) => CursorPosition,
): Page<T> {
  const items = rows.slice(0, limit);
  const more = rows.length > limit;

  return {
    items,
    nextCursor: more ? encodeCursor(positionOf(items[items.length - 1])) : null,
  };
}
