import { parseSetCookie } from "cookie";

interface StoredCookie {
  value: string;
  path: string;
}

/**
 * A minimal browser for sign-in flows: follows redirects by hand and keeps cookies. Cookies are not isolated by
 * port, as in real browsers, and every server in the tests is on 127.0.0.1, so one jar keyed by name serves all.
 */
export class Browser {
  private readonly jar = new Map<string, StoredCookie>();

  /** Sends one request with the cookies that apply to its path, and stores the cookies of the response. */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(new URL(url).pathname);
    if (cookie) {
      headers.set("cookie", cookie);
    }

    const response = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      this.store(line);
    }
    return response;
  }

  /**
   * Follows redirects from `url` until one points at `stop`, and returns that URL without requesting it, so the
   * test can send it as it is or altered.
   */
  async followUntil(url: string, stop: string): Promise<string> {
    let next = url;
    for (let hop = 0; hop < 20; hop += 1) {
      if (next.startsWith(stop)) {
        return next;
      }
      const response = await this.request(next);
      const location = response.headers.get("location");
      if (response.status < 300 || response.status >= 400 || !location) {
        throw new Error(
          `expected a redirect from ${next}, got ${response.status}: ${await response.text()}`,
        );
      }
      next = new URL(location, next).toString();
    }
    throw new Error(`more than 20 redirects from ${url}`);
  }

  cookie(name: string): string | undefined {
    return this.jar.get(name)?.value;
  }

  private store(line: string): void {
    const parsed = parseSetCookie(line);
    if (!parsed.value || parsed.maxAge === 0) {
      this.jar.delete(parsed.name);
      return;
    }
    this.jar.set(parsed.name, {
      value: parsed.value,
      path: parsed.path ?? "/",
    });
  }

  private cookieHeader(path: string): string {
    return [...this.jar.entries()]
      .filter(([, cookie]) => path.startsWith(cookie.path))
      .map(([name, cookie]) => `${name}=${cookie.value}`)
      .join("; ");
  }
}
