import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from "@nestjs/common";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { UserRole } from "./entities/user.entity";
import { UsernameTaken, UsersService } from "./users.service";

/**
 * Creates the first administrator from `LLM_PROXY_ADMIN_USERNAME` and `LLM_PROXY_ADMIN_PASSWORD` when the
 * database has no users yet. With users present the variables are ignored, so a restart never resets a
 * password. There is no default account: without the variables, `npm run cli -- users create` makes one.
 */
@Injectable()
export class InitialAdminService implements OnApplicationBootstrap {
  private readonly logger = new Logger(InitialAdminService.name);

  constructor(
    private readonly users: UsersService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { username, password } = this.config.auth.initialAdmin;
    if (!username && !password) {
      return;
    }
    if (!username || !password) {
      this.logger.warn({
        msg: "initial administrator not created: set both LLM_PROXY_ADMIN_USERNAME and LLM_PROXY_ADMIN_PASSWORD",
      });
      return;
    }
    if ((await this.users.count()) > 0) {
      this.logger.log({
        msg: "initial administrator settings ignored: the database has users already",
      });
      return;
    }

    try {
      await this.users.create({ username, password, role: UserRole.Admin });
    } catch (error) {
      // Replicas starting together may race; the one that lost finds the account made by the other.
      if (!(error instanceof UsernameTaken)) {
        throw error;
      }
    }
  }
}
