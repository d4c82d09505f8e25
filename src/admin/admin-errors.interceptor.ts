import {
  CallHandler,
  ExecutionContext,
  HttpStatus,
  Injectable,
  NestInterceptor,
} from "@nestjs/common";
import { NotFoundError } from "@mikro-orm/core";
import { catchError, Observable, throwError } from "rxjs";

import { ClientNameTaken, TokenRevoked } from "../clients/clients.service";
import { InvalidName } from "../common/names";
import { EntityNotFound } from "../common/not-found";
import { InvalidCursor } from "../common/pagination";
import { ProxyError } from "../common/proxy-error";
import {
  BalanceChangeRejected,
  ProviderInputRejected,
  ProviderNameTaken,
} from "../providers/providers.service";

/**
 * Turns the domain errors of the services behind the admin API into HTTP errors with a stable code. Their
 * messages are written for operators and hold no secrets, so they are passed on as they are.
 */
@Injectable()
export class AdminErrorsInterceptor implements NestInterceptor {
  intercept(
    _context: ExecutionContext,
    next: CallHandler,
  ): Observable<unknown> {
    return next
      .handle()
      .pipe(catchError((error: unknown) => throwError(() => toHttp(error))));
  }
}

function toHttp(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof ProxyError) {
    return error;
  }

  const fail = (status: HttpStatus, code: string) =>
    new ProxyError(error.message, {
      status,
      type:
        status === HttpStatus.NOT_FOUND
          ? "not_found_error"
          : "invalid_request_error",
      code,
    });

  if (error instanceof EntityNotFound || error instanceof NotFoundError) {
    return fail(HttpStatus.NOT_FOUND, "not_found");
  }
  if (error instanceof ClientNameTaken || error instanceof ProviderNameTaken) {
    return fail(HttpStatus.CONFLICT, "name_taken");
  }
  if (error instanceof TokenRevoked) {
    return fail(HttpStatus.CONFLICT, "token_revoked");
  }
  if (error instanceof BalanceChangeRejected) {
    return fail(HttpStatus.CONFLICT, "balance_change_rejected");
  }
  if (error instanceof InvalidName || error instanceof ProviderInputRejected) {
    return fail(HttpStatus.BAD_REQUEST, "invalid_value");
  }
  if (error instanceof InvalidCursor) {
    return fail(HttpStatus.BAD_REQUEST, "invalid_cursor");
  }
  return error;
}
