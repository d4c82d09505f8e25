import { parse as parseCookies } from "cookie";
import { FastifyRequest } from "fastify";

import { SESSION_COOKIE } from "./admin-auth";

/** The session token of a request: `Authorization: Bearer` first, else the session cookie. */
export function sessionTokenOf(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1] : null;
  }

  return cookieOf(request, SESSION_COOKIE);
}

/** One cookie of a request, or null. */
export function cookieOf(request: FastifyRequest, name: string): string | null {
  const header = request.headers.cookie;
  if (!header) {
    return null;
  }
  return parseCookies(header)[name] ?? null;
}

/** The TCP peer of a request, never a forwarded address; IPv4-mapped IPv6 addresses are given as IPv4. */
export function peerAddressOf(request: FastifyRequest): string | null {
  const address = request.raw.socket.remoteAddress ?? null;
  return address?.startsWith("::ffff:") && address.includes(".")
    ? address.slice("::ffff:".length)
    : address;
}
