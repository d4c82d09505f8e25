import { FormEvent, useState } from "react";
import { useParams } from "react-router";

import {
  api,
  Client,
  ClientToken,
  IssuedToken,
  List,
  query,
  UsagePoint,
} from "../api";
import { UsageChart } from "../charts";
import { ActionError, Loadable, Stat, TableBox } from "../components";
import { count, time, usd, utcDay } from "../format";
import { useAction, useApi } from "../hooks";
import { ClientLimits } from "../limits";
import { useSession } from "../session";

/** One client: totals, usage per day by model, tokens, and the operator's actions. */
export function ClientDetailPage() {
  const { clientId } = useParams();
  const client = useApi<Client>(`/api/clients/${clientId}`);
  const tokens = useApi<List<ClientToken>>(`/api/clients/${clientId}/tokens`);
  const [usageFrom] = useState(() => utcDay(29));
  const [usageTo] = useState(() => utcDay(0));
  const usage = useApi<List<UsagePoint>>(
    `/api/usage/daily${query({ from: usageFrom, to: usageTo, clientId, groupBy: "model" })}`,
  );
  const { canOperate } = useSession();
  const [revealed, setRevealed] = useState<IssuedToken | null>(null);
  const onIssued = (issued: IssuedToken) => {
    setRevealed(issued);
    tokens.reload();
  };

  return (
    <Loadable resource={client} label="client">
      {(data) => (
        <>
          <h1>
            Client {data.name}{" "}
            <span className={`badge ${data.status}`}>{data.status}</span>
          </h1>
          <div className="stats">
            <Stat label="Requests" value={count(data.totals.requests)} />
            <Stat
              label="Prompt tokens"
              value={count(data.totals.promptTokens)}
            />
            <Stat
              label="Completion tokens"
              value={count(data.totals.completionTokens)}
            />
            <Stat label="Cost" value={usd(data.totals.cost)} />
          </div>
          <p>
            Allowed models:{" "}
            {data.allowedModels === null
              ? "all models"
              : data.allowedModels.join(", ") || "none"}
          </p>
          <ClientLimits client={data} />
          {canOperate && data.status === "active" ? (
            <DisableClient clientId={data.id} onDisabled={client.reload} />
          ) : null}

          <section aria-labelledby="client-usage-heading">
            <h2 id="client-usage-heading">Usage over the last 30 days</h2>
            <Loadable
              resource={usage}
              label="usage"
              isEmpty={(d) => d.items.length === 0}
              empty="No requests in the last 30 days."
            >
              {(points) => (
                <UsageChart
                  points={points.items}
                  dimension="model"
                  metric="cost"
                  from={usageFrom}
                  to={usageTo}
                />
              )}
            </Loadable>
          </section>

          <section aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">Tokens</h2>
            {revealed ? (
              <TokenReveal issued={revealed} onDone={() => setRevealed(null)} />
            ) : null}
            {canOperate ? (
              <IssueToken clientId={data.id} onIssued={onIssued} />
            ) : null}
            <Loadable
              resource={tokens}
              label="tokens"
              isEmpty={(d) => d.items.length === 0}
              empty="This client has no tokens."
            >
              {(list) => (
                <TokenTable
                  tokens={list.items}
                  clientId={data.id}
                  canOperate={canOperate}
                  onChanged={tokens.reload}
                  onIssued={onIssued}
                />
              )}
            </Loadable>
          </section>
        </>
      )}
    </Loadable>
  );
}

function DisableClient(props: { clientId: number; onDisabled: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const action = useAction();
  const disable = async () => {
    if (
      (await action.run(() =>
        api("POST", `/api/clients/${props.clientId}/disable`),
      )) !== null
    ) {
      props.onDisabled();
    }
  };
  return (
    <div className="actions">
      {confirming ? (
        <>
          <span>Every token of this client stops working.</span>
          <button
            type="button"
            className="danger"
            disabled={action.busy}
            onClick={() => void disable()}
          >
            Confirm disable
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </>
      ) : (
        <button
          type="button"
          className="danger"
          onClick={() => setConfirming(true)}
        >
          Disable client
        </button>
      )}
      <ActionError error={action.error} />
    </div>
  );
}

/** Shows a new token once, with a copy button; it cannot be shown again after this box is closed. */
function TokenReveal(props: { issued: IssuedToken; onDone: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.issued.token);
      setCopied("Copied.");
    } catch {
      setCopied(
        "The browser did not allow copying; select the token and copy it by hand.",
      );
    }
  };
  return (
    <div className="reveal" role="region" aria-label="New token">
      <p>
        <strong>Copy this token now.</strong> It is shown only once; the server
        keeps only its hash.
      </p>
      <code data-testid="revealed-token">{props.issued.token}</code>
      <div className="actions">
        <button type="button" onClick={() => void copy()}>
          Copy token
        </button>
        <button type="button" onClick={props.onDone}>
          I have stored it
        </button>
        <span role="status">{copied}</span>
      </div>
    </div>
  );
}

function IssueToken(props: {
  clientId: number;
  onIssued: (issued: IssuedToken) => void;
}) {
  const [name, setName] = useState("");
  const [expires, setExpires] = useState("");
  const action = useAction();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const issued = await action.run(() =>
      api<IssuedToken>("POST", `/api/clients/${props.clientId}/tokens`, {
        name: name || "default",
        expiresAt: expires === "" ? null : new Date(expires).toISOString(),
      }),
    );
    if (issued !== null) {
      setName("");
      setExpires("");
      props.onIssued(issued);
    }
  };

  return (
    <form
      className="inline-form"
      onSubmit={(event) => void submit(event)}
      aria-label="Issue a token"
    >
      <label>
        Token name
        <input
          value={name}
          placeholder="default"
          onChange={(e) => setName(e.target.value)}
        />
      </label>
      <label>
        Expires (local time, empty for never)
        <input
          type="datetime-local"
          value={expires}
          onChange={(e) => setExpires(e.target.value)}
        />
      </label>
      <button type="submit" disabled={action.busy}>
        Issue token
      </button>
      <ActionError error={action.error} />
    </form>
  );
}

function TokenTable(props: {
  tokens: ClientToken[];
  clientId: number;
  canOperate: boolean;
  onChanged: () => void;
  onIssued: (issued: IssuedToken) => void;
}) {
  const action = useAction();
  const base = `/api/clients/${props.clientId}/tokens`;
  const revoke = async (token: ClientToken) => {
    if (
      (await action.run(() => api("POST", `${base}/${token.id}/revoke`))) !==
      null
    ) {
      props.onChanged();
    }
  };
  const rotate = async (token: ClientToken) => {
    const rotated = await action.run(() =>
      api<{ issued: IssuedToken }>("POST", `${base}/${token.id}/rotate`, {
        overlapSeconds: 3600,
      }),
    );
    if (rotated !== null) {
      props.onIssued(rotated.issued);
    }
  };

  return (
    <>
      <ActionError error={action.error} />
      <TableBox label="Tokens">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Prefix</th>
            <th scope="col">State</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            {props.canOperate ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {props.tokens.map((token) => (
            <tr key={token.id} data-testid={`token-${token.id}`}>
              <td>{token.name}</td>
              <td>
                <code>{token.displayPrefix}…</code>
              </td>
              <td>
                <span className={`badge ${token.state}`}>{token.state}</span>
              </td>
              <td>
                {token.expiresAt === null ? "never" : time(token.expiresAt)}
              </td>
              <td>{time(token.lastUsedAt)}</td>
              {props.canOperate ? (
                <td className="actions">
                  {token.state === "active" ? (
                    <>
                      <button
                        type="button"
                        disabled={action.busy}
                        onClick={() => void rotate(token)}
                      >
                        Rotate
                      </button>
                      <button
                        type="button"
                        className="danger"
                        disabled={action.busy}
                        onClick={() => void revoke(token)}
                      >
                        Revoke
                      </button>
                    </>
                  ) : null}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </TableBox>
    </>
  );
}
