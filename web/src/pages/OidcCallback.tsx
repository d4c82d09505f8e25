import { useEffect, useRef, useState } from "react";
import { Link, useLocation, useNavigate } from "react-router";

import { api } from "../api";

/**
 * Finishes single sign-on where the identity provider sends the browser back, when `auth.oidc.redirectUrl` points at
 * `/dashboard/oidc/callback`. It passes the code and state on to the API's callback, which checks them and
 * sets the session cookie, then opens the overview.
 */
export function OidcCallbackPage(props: { onSignedIn: () => Promise<void> }) {
  const location = useLocation();
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  const started = useRef(false);

  useEffect(() => {
    // The code can be exchanged once only, so a second effect run must not send it again.
    if (started.current) {
      return;
    }
    started.current = true;
    api("GET", `/api/auth/oidc/callback${location.search}`).then(
      async () => {
        await props.onSignedIn();
        void navigate("/", { replace: true });
      },
      (failure: unknown) => setError((failure as Error).message),
    );
  }, [location.search, navigate, props]);

  return (
    <main className="sign-in" id="main">
      <h1>Signing in…</h1>
      {error ? (
        <div className="error" role="alert">
          <p>Single sign-on failed: {error}</p>
          <Link to="/">Back to sign-in</Link>
        </div>
      ) : (
        <p role="status">Checking the answer of the identity provider…</p>
      )}
    </main>
  );
}
