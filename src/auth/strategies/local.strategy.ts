import { Injectable, Logger } from "@nestjs/common";
import { PassportStrategy } from "@nestjs/passport";
import { FastifyRequest } from "fastify";
import { Strategy } from "passport-local";

import { invalidRequest } from "../../common/proxy-error";
import { adminUnauthenticated } from "../admin-errors";
import { User } from "../entities/user.entity";
import { MAX_PASSWORD_LENGTH } from "../password-hasher";
import { SignInThrottle } from "../sign-in-throttle.service";
import { UsersService } from "../users.service";

/**
 * Signs in with a username and password from the JSON body. Wrong passwords, unknown users, SSO-only accounts
 * and disabled users all get the same 401 after the same argon2 work, and count towards the throttle.
 */
@Injectable()
export class LocalStrategy extends PassportStrategy(Strategy, "admin-local") {
  private readonly logger = new Logger(LocalStrategy.name);

  constructor(
    private readonly users: UsersService,
    private readonly throttle: SignInThrottle,
  ) {
    super({
      usernameField: "username",
      passReqToCallback: true,
      session: false,
    });
  }

  async validate(
    request: FastifyRequest,
    username: unknown,
    password: unknown,
  ): Promise<User> {
    if (typeof username !== "string" || username.length > 200) {
      throw invalidRequest(
        "username must be a string of at most 200 characters",
        "invalid_value",
        "username",
      );
    }
    if (typeof password !== "string" || password.length > MAX_PASSWORD_LENGTH) {
      throw invalidRequest(
        `password must be a string of at most ${MAX_PASSWORD_LENGTH} characters`,
        "invalid_value",
        "password",
      );
    }

    await this.throttle.assertAllowed(username, request.ip);
    const user = await this.users.verifyCredentials(username, password);
    if (!user) {
      await this.throttle.recordFailure(username, request.ip);
      this.logger.log({ msg: "password sign-in refused", username });
      throw adminUnauthenticated(
        "Wrong username or password",
        "invalid_credentials",
      );
    }

    await this.throttle.recordSuccess(username);
    return user;
  }
}
