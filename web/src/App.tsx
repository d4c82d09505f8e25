import { useCallback, useEffect, useMemo, useState } from "react";
import { NavLink, Navigate, Route, Routes, useNavigate } from "react-router";

import { api, ApiError, Me, onUnauthorized } from "./api";
import { ClientDetailPage } from "./pages/ClientDetail";
import { ClientsPage } from "./pages/Clients";
import { OidcCallbackPage } from "./pages/OidcCallback";
import { OperationsPage } from "./pages/Operations";
import { OverviewPage } from "./pages/Overview";
import { ProviderDetailPage } from "./pages/ProviderDetail";
import { ProvidersPage } from "./pages/Providers";
import { RequestsPage } from "./pages/Requests";
import { SignInPage } from "./pages/SignIn";
import { roleAtLeast, Session, SessionContext } from "./session";

type SessionState =
  | { kind: "loading" }
  | { kind: "signed-out" }
  | { kind: "failed"; message: string }
  | { kind: "signed-in"; me: Me };

/** Loads the session, then shows the sign-in screens or the signed-in layout. */
export function App() {
  const [state, setState] = useState<SessionState>({ kind: "loading" });

  const refresh = useCallback(async () => {
    try {
      setState({ kind: "signed-in", me: await api<Me>("GET", "/api/auth/me") });
    } catch (error) {
      setState(
        error instanceof ApiError && error.status === 401
          ? { kind: "signed-out" }
          : { kind: "failed", message: (error as Error).message },
      );
    }
  }, []);

  useEffect(() => {
    void refresh();
    return onUnauthorized(() => setState({ kind: "signed-out" }));
  }, [refresh]);

  if (state.kind === "loading") {
    return (
      <p className="loading page" role="status">
        Loading…
      </p>
    );
  }
  if (state.kind === "failed") {
    return (
      <div className="error page" role="alert">
        <p>Could not reach the server: {state.message}</p>
        <button type="button" onClick={() => void refresh()}>
          Try again
        </button>
      </div>
    );
  }
  if (state.kind === "signed-out") {
    return (
      <Routes>
        <Route
          path="/oidc/callback"
          element={<OidcCallbackPage onSignedIn={refresh} />}
        />
        <Route path="*" element={<SignInPage onSignedIn={refresh} />} />
      </Routes>
    );
  }
  return (
    <SignedIn
      me={state.me}
      onSignedOut={() => setState({ kind: "signed-out" })}
    />
  );
}

function SignedIn(props: { me: Me; onSignedOut: () => void }) {
  const { me, onSignedOut } = props;
  const navigate = useNavigate();

  const session = useMemo<Session>(
    () => ({
      me,
      canOperate: roleAtLeast(me.role, "operator"),
      isAdmin: roleAtLeast(me.role, "admin"),
      signOut: async () => {
        await api("POST", "/api/auth/logout");
        onSignedOut();
        void navigate("/");
      },
    }),
    [me, onSignedOut, navigate],
  );

  return (
    <SessionContext.Provider value={session}>
      <header className="top">
        <a className="skip" href="#main">
          Skip to content
        </a>
        <span className="brand">llm-proxy</span>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Overview
          </NavLink>
          <NavLink to="/clients">Clients</NavLink>
          <NavLink to="/providers">Providers</NavLink>
          <NavLink to="/requests">Requests</NavLink>
          <NavLink to="/operations">Operations</NavLink>
        </nav>
        <div className="user">
          <span data-testid="current-user">
            {me.username} <span className="role">({me.role})</span>
          </span>
          <button type="button" onClick={() => void session.signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<OverviewPage />} />
          <Route path="/clients" element={<ClientsPage />} />
          <Route path="/clients/:clientId" element={<ClientDetailPage />} />
          <Route path="/providers" element={<ProvidersPage />} />
          <Route
            path="/providers/:providerId"
            element={<ProviderDetailPage />}
          />
          <Route path="/requests" element={<RequestsPage />} />
          <Route path="/operations" element={<OperationsPage />} />
          <Route path="/oidc/callback" element={<Navigate to="/" replace />} />
          <Route
            path="*"
            element={<p className="empty">No screen at this address.</p>}
          />
        </Routes>
      </main>
    </SessionContext.Provider>
  );
}
