import {
  CallHandler,
  HttpStatus,
  Injectable,
  NestInterceptor,
} from "@nestjs/common";
import { catchError, Observable, throwError } from "rxjs";

import { ProxyError } from "../common/proxy-error";
import {
  InvalidPassword,
  LastAdministrator,
  UsernameTaken,
} from "./users.service";

/** Turns the user service's own errors into 409 and 400 responses with a stable code. */
@Injectable()
export class UsersErrorsInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((error: unknown) => {
        if (error instanceof UsernameTaken) {
          return throwError(
            () =>
              new ProxyError(error.message, {
                status: HttpStatus.CONFLICT,
                type: "invalid_request_error",
                code: "name_taken",
              }),
          );
        }
        if (error instanceof LastAdministrator) {
          return throwError(
            () =>
              new ProxyError(error.message, {
                status: HttpStatus.CONFLICT,
                type: "invalid_request_error",
                code: "last_administrator",
              }),
          );
        }
        if (error instanceof InvalidPassword) {
          return throwError(
            () =>
              new ProxyError(error.message, {
                status: HttpStatus.BAD_REQUEST,
                type: "invalid_request_error",
                code: "invalid_value",
                param: "password",
              }),
          );
        }
        return throwError(() => error);
      }),
    );
  }
}
