/** Raised when an entity named by id does not exist; the admin API answers 404. */
export class EntityNotFound extends Error {
  constructor(what: string, id: number | string) {
    super(`No ${what} with id ${id}`);
  }
}
