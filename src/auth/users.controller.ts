import {
  Body,
  Delete,
  Get,
  Param,
  Patch,
  Post,
  UseInterceptors,
} from "@nestjs/common";
import { ApiOperation } from "@nestjs/swagger";
import { ZodResponse } from "nestjs-zod";

import { AdminController, ApiErrors } from "../admin/admin-docs";
import { Actor } from "../admin/admin-request";
import { AuditActor } from "../audit/audit";
import { AdminRoute } from "./admin-auth";
import {
  SessionsRevokedResponseDto,
  toUserResponse,
  UserCreateDto,
  UserIdParams,
  UserListResponseDto,
  UserResponseDto,
  UserUpdateDto,
} from "./dto/user.dto";
import { UserRole } from "./entities/user.entity";
import { UsersErrorsInterceptor } from "./users-errors.interceptor";
import { UsersService } from "./users.service";

/** Dashboard users: administrators list, create, change and sign out users. */
@AdminController("users", "users")
@UseInterceptors(UsersErrorsInterceptor)
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @AdminRoute(UserRole.Admin)
  @ApiOperation({ operationId: "listUsers", summary: "List dashboard users" })
  @ZodResponse({ status: 200, type: UserListResponseDto })
  async list() {
    const users = await this.users.list();
    return { items: users.map(toUserResponse) };
  }

  @Post()
  @AdminRoute(UserRole.Admin)
  @ApiOperation({
    operationId: "createUser",
    summary: "Create a dashboard user",
    description:
      "A local account with a password (12 to 1024 characters, stored as an argon2id hash), or without one for a user who signs in by SSO only.",
  })
  @ZodResponse({ status: 201, type: UserResponseDto })
  @ApiErrors(400, 409)
  async create(@Body() body: UserCreateDto, @Actor() actor: AuditActor) {
    return toUserResponse(await this.users.create(body, actor));
  }

  @Patch(":userId")
  @AdminRoute(UserRole.Admin)
  @ApiOperation({
    operationId: "updateUser",
    summary: "Change a user's role or disable it",
    description:
      "Disabling a user ends all of its sessions at once. The last enabled administrator cannot be demoted or disabled (409).",
  })
  @ZodResponse({ status: 200, type: UserResponseDto })
  @ApiErrors(400, 404, 409)
  async update(
    @Param() params: UserIdParams,
    @Body() body: UserUpdateDto,
    @Actor() actor: AuditActor,
  ) {
    return toUserResponse(await this.users.update(params.userId, body, actor));
  }

  @Delete(":userId/sessions")
  @AdminRoute(UserRole.Admin)
  @ApiOperation({
    operationId: "revokeUserSessions",
    summary: "Sign a user out everywhere",
    description: "Ends every live session of the user on every replica.",
  })
  @ZodResponse({ status: 200, type: SessionsRevokedResponseDto })
  @ApiErrors(400, 404)
  async revokeSessions(
    @Param() params: UserIdParams,
    @Actor() actor: AuditActor,
  ) {
    return { revoked: await this.users.revokeSessions(params.userId, actor) };
  }
}
