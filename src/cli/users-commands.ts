import { userInfo } from "node:os";

import { INestApplicationContext } from "@nestjs/common";
import { Command, InvalidArgumentError, Option } from "commander";

import { AuditActor } from "../audit/audit";
import { UserRole } from "../auth/entities/user.entity";
import { UsersService } from "../auth/users.service";
import { readSecret } from "./read-secret";

type WithApp = <T>(
  work: (app: INestApplicationContext) => Promise<T>,
) => Promise<T>;

const ROLES = Object.values(UserRole);

const role = (value: string): UserRole => {
  if (!ROLES.includes(value as UserRole)) {
    throw new InvalidArgumentError(`use one of ${ROLES.join(", ")}`);
  }
  return value as UserRole;
};

/** Changes made here are audited under the operating-system user who ran the tool. */
const cliActor = (): AuditActor => ({
  userId: null,
  username: `cli:${userInfo().username}`,
});

/**
 * `users create|list|disable|enable|set-role|sign-out`: dashboard users. A password never goes on the command
 * line; it is read from standard input or from an environment variable that the caller names.
 */
export function registerUserCommands(program: Command, withApp: WithApp): void {
  const users = program
    .command("users")
    .description("Dashboard users who sign in to the admin API");

  users
    .command("create")
    .description(
      "Create a user; the password is read from standard input unless --password-env or --sso-only is given",
    )
    .requiredOption("--username <name>", "sign-in name")
    .addOption(
      new Option("--role <role>", "what the user may do")
        .choices(ROLES)
        .makeOptionMandatory(),
    )
    .option("--email <address>", "email address")
    .option(
      "--password-env <variable>",
      "read the password from this environment variable",
    )
    .option("--sso-only", "no password: the user signs in by single sign-on")
    .action(
      async (options: {
        username: string;
        role: UserRole;
        email?: string;
        passwordEnv?: string;
        ssoOnly?: boolean;
      }) => {
        const password = options.ssoOnly
          ? undefined
          : await readSecret("Password: ", options.passwordEnv, "password");
        const created = await withApp((app) =>
          app
            .get(UsersService)
            .create(
              { ...options, password, email: options.email ?? null },
              cliActor(),
            ),
        );
        console.log(
          `created user ${created.username} (id ${created.id}) with role ${created.role}`,
        );
      },
    );

  users
    .command("list")
    .description("List users with their role and state")
    .action(async () => {
      const rows = await withApp((app) => app.get(UsersService).list());
      for (const row of rows) {
        console.log(
          `${row.id}\t${row.username}\t${row.role}\t${row.disabled ? "disabled" : "enabled"}\t` +
            `${row.ssoIssuer ? `sso:${row.ssoIssuer}` : "password"}\tlast-sign-in=${row.lastSignInAt?.toISOString() ?? "never"}`,
        );
      }
    });

  for (const [command, disabled] of [
    ["disable", true],
    ["enable", false],
  ] as const) {
    users
      .command(`${command} <username>`)
      .description(
        disabled
          ? "Refuse a user's sign-ins and end its sessions"
          : "Let a disabled user sign in again",
      )
      .action(async (username: string) => {
        await withApp(async (app) => {
          const service = app.get(UsersService);
          const user = await service.getByUsername(username);
          await service.update(user.id, { disabled }, cliActor());
        });
        console.log(`user ${username} is ${disabled ? "disabled" : "enabled"}`);
      });
  }

  users
    .command("set-role <username> <role>")
    .description(`Change a user's role (${ROLES.join(", ")})`)
    .action(async (username: string, value: string) => {
      const newRole = role(value);
      await withApp(async (app) => {
        const service = app.get(UsersService);
        const user = await service.getByUsername(username);
        await service.update(user.id, { role: newRole }, cliActor());
      });
      console.log(`user ${username} has role ${newRole}`);
    });

  users
    .command("sign-out <username>")
    .description("End every session of a user")
    .action(async (username: string) => {
      const revoked = await withApp(async (app) => {
        const service = app.get(UsersService);
        const user = await service.getByUsername(username);
        return service.revokeSessions(user.id, cliActor());
      });
      console.log(`ended ${revoked} session(s) of ${username}`);
    });
}
