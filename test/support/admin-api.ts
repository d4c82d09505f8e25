import { UserRole } from "../../src/auth/entities/user.entity";
import { AdminSessionService } from "../../src/auth/admin-session.service";
import { UsersService } from "../../src/auth/users.service";
import { ProxyHarness } from "./proxy-harness";

/** Session tokens of one user per role. */
export type RoleSessions = Record<UserRole, string>;

/** Creates a user of each role and signs each in, returning their session tokens. */
export async function seedRoleSessions(
  harness: ProxyHarness,
  prefix = "user",
): Promise<RoleSessions> {
  const sessions = {} as RoleSessions;
  for (const role of Object.values(UserRole)) {
    const user = await harness.app
      .get(UsersService)
      .create({ username: `${prefix}-${role}`, role });
    const issued = await harness.app.get(AdminSessionService).issue(user.id);
    sessions[role] = issued.token;
  }
  return sessions;
}

/** A parsed JSON response body, which tests read key by key. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- arbitrary JSON bodies are checked key by key
export type JsonBody = any;

export interface ApiResponse<T = JsonBody> {
  status: number;
  body: T;
  text: string;
}

/** Calls the admin API over HTTP with an optional session token and JSON body. */
export async function callApi<T = JsonBody>(
  baseUrl: string,
  session: string | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = {};
  if (session) {
    headers.authorization = `Bearer ${session}`;
  }
  if (body !== undefined) {
    headers["content-type"] = "application/json";
  }

  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed as T, text };
}

/** Returns a caller bound to one server and session. */
export function apiAs(baseUrl: string, session: string | null) {
  return <T = JsonBody>(method: string, path: string, body?: unknown) =>
    callApi<T>(baseUrl, session, method, path, body);
}
