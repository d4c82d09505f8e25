import { FormEvent, useState } from "react";

import { api } from "../api";
import { ActionError } from "../components";
import { useAction } from "../hooks";

/** Reads whether the server enabled OpenID Connect from the meta tag it adds to the page. */
function oidcEnabled(): boolean {
  const methods = document
    .querySelector('meta[name="llmp-sign-in-methods"]')
    ?.getAttribute("content");
  return methods?.split(" ").includes("oidc") ?? false;
}

/** The sign-in screen: single sign-on when OpenID Connect is configured, and the password form. */
export function SignInPage(props: { onSignedIn: () => Promise<void> }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const signedIn = await action.run(() =>
      api("POST", "/api/auth/login", { username, password }),
    );
    if (signedIn !== null) {
      setPassword("");
      await props.onSignedIn();
    }
  };

  return (
    <main className="sign-in" id="main">
      <h1>Sign in to llm-proxy</h1>
      {oidcEnabled() ? (
        <p>
          <a className="button primary" href="/api/auth/oidc/login">
            Sign in with SSO
          </a>
        </p>
      ) : null}
      <form
        onSubmit={(event) => void submit(event)}
        aria-label="Password sign-in"
      >
        <label htmlFor="username">Username</label>
        <input
          id="username"
          autoComplete="username"
          required
          value={username}
          onChange={(event) => setUsername(event.target.value)}
        />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        <button type="submit" className="primary" disabled={action.busy}>
          {action.busy ? "Signing in…" : "Sign in"}
        </button>
        <ActionError error={action.error} />
      </form>
    </main>
  );
}
