import { FormEvent, useState } from "react";
import { useParams } from "react-router";

import { api, LedgerEntry, List, Model, Page, Provider, query } from "../api";
import { ActionError, Loadable, Stat, TableBox } from "../components";
import { time, usd } from "../format";
import { useAction, useApi } from "../hooks";
import { useSession } from "../session";
import { ModelTable } from "./Providers";

/** One provider: balance, models and prices, the ledger, top-ups, corrections and key rotation. */
export function ProviderDetailPage() {
  const { providerId } = useParams();
  const provider = useApi<Provider>(`/api/providers/${providerId}`);
  const models = useApi<List<Model>>(`/api/models${query({ providerId })}`);
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const ledger = useApi<Page<LedgerEntry>>(
    `/api/ledger${query({ providerId, limit: 20, cursor })}`,
  );
  const { canOperate, isAdmin } = useSession();
  const changed = () => {
    provider.reload();
    setCursors([]);
    ledger.reload();
  };

  return (
    <Loadable resource={provider} label="provider">
      {(data) => (
        <>
          <h1>Provider {data.name}</h1>
          <div className="stats">
            <Stat
              label="Balance"
              value={
                data.billingMode === "prepaid"
                  ? usd(data.creditBalance)
                  : "postpaid"
              }
            />
            <Stat label="Held in flight" value={usd(data.creditReserved)} />
            <Stat
              label="API key"
              value={data.keyLast4 ? `…${data.keyLast4}` : "none"}
            />
          </div>
          <p>
            {data.kind} at <code>{data.baseUrl}</code>,{" "}
            {data.enabled ? "enabled" : "disabled"}
          </p>
          {canOperate ? (
            <div className="columns">
              <BalanceForm
                providerId={data.id}
                kind="top-up"
                onDone={changed}
              />
              {isAdmin ? (
                <BalanceForm
                  providerId={data.id}
                  kind="adjustment"
                  onDone={changed}
                />
              ) : null}
              <RotateKey providerId={data.id} onDone={provider.reload} />
            </div>
          ) : null}

          <h2>Models</h2>
          <Loadable
            resource={models}
            label="models"
            isEmpty={(d) => d.items.length === 0}
          >
            {(list) => <ModelTable models={list.items} providers={[data]} />}
          </Loadable>

          <h2>Ledger</h2>
          <Loadable
            resource={ledger}
            label="ledger"
            isEmpty={(d) => d.items.length === 0}
            empty="No balance changes yet."
          >
            {(page) => (
              <>
                <TableBox label="Ledger">
                  <thead>
                    <tr>
                      <th scope="col">Time</th>
                      <th scope="col">Kind</th>
                      <th scope="col">Amount</th>
                      <th scope="col">Balance after</th>
                      <th scope="col">Who</th>
                      <th scope="col">Why</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.items.map((entry) => (
                      <tr key={entry.id}>
                        <td>{time(entry.createdAt)}</td>
                        <td>{entry.kind}</td>
                        <td className="num">{usd(entry.amount)}</td>
                        <td className="num">{usd(entry.balanceAfter)}</td>
                        <td>
                          {entry.actor ?? (entry.requestId ? "request" : "")}
                        </td>
                        <td>
                          {entry.note ??
                            (entry.requestId ? (
                              <code>{entry.requestId}</code>
                            ) : (
                              ""
                            ))}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </TableBox>
                <Pager
                  hasPrevious={cursors.length > 0}
                  nextCursor={page.nextCursor}
                  onPrevious={() => setCursors(cursors.slice(0, -1))}
                  onNext={(next) => setCursors([...cursors, next])}
                />
              </>
            )}
          </Loadable>
        </>
      )}
    </Loadable>
  );
}

/** Previous and next buttons for cursor pages. */
export function Pager(props: {
  hasPrevious: boolean;
  nextCursor: string | null;
  onPrevious: () => void;
  onNext: (cursor: string) => void;
}) {
  const { nextCursor } = props;
  return (
    <div className="actions">
      <button
        type="button"
        disabled={!props.hasPrevious}
        onClick={props.onPrevious}
      >
        Previous page
      </button>
      <button
        type="button"
        disabled={nextCursor === null}
        onClick={() => nextCursor && props.onNext(nextCursor)}
      >
        Next page
      </button>
    </div>
  );
}

function BalanceForm(props: {
  providerId: number;
  kind: "top-up" | "adjustment";
  onDone: () => void;
}) {
  const [amount, setAmount] = useState("");
  const [note, setNote] = useState("");
  const action = useAction();
  const topUp = props.kind === "top-up";
  const path = `/api/providers/${props.providerId}/${topUp ? "top-ups" : "adjustments"}`;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body = topUp && note === "" ? { amount } : { amount, note };
    if ((await action.run(() => api("POST", path, body))) !== null) {
      setAmount("");
      setNote("");
      props.onDone();
    }
  };

  return (
    <form
      className="panel"
      onSubmit={(event) => void submit(event)}
      aria-label={topUp ? "Top up" : "Correct the balance"}
    >
      <h3>{topUp ? "Top up" : "Correct the balance"}</h3>
      <label>
        Amount (USD{topUp ? "" : ", negative removes credit"})
        <input
          required
          inputMode="decimal"
          pattern={
            topUp ? "\\d{1,12}(\\.\\d{1,9})?" : "-?\\d{1,12}(\\.\\d{1,9})?"
          }
          value={amount}
          onChange={(e) => setAmount(e.target.value)}
        />
      </label>
      <label>
        Note{topUp ? " (optional)" : ""}
        <input
          required={!topUp}
          value={note}
          onChange={(e) => setNote(e.target.value)}
        />
      </label>
      <button type="submit" disabled={action.busy}>
        {topUp ? "Add credit" : "Correct balance"}
      </button>
      <ActionError error={action.error} />
    </form>
  );
}

/** Replaces the provider's API key. The field is cleared on success and the key is never shown again. */
function RotateKey(props: { providerId: number; onDone: () => void }) {
  const [apiKey, setApiKey] = useState("");
  const [done, setDone] = useState(false);
  const action = useAction();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await action.run(() =>
      api("PUT", `/api/providers/${props.providerId}/api-key`, { apiKey }),
    );
    setApiKey("");
    if (result !== null) {
      setDone(true);
      props.onDone();
    }
  };

  return (
    <form
      className="panel"
      onSubmit={(event) => void submit(event)}
      aria-label="Replace the API key"
    >
      <h3>Replace the API key</h3>
      <label>
        New API key
        <input
          type="password"
          autoComplete="off"
          required
          value={apiKey}
          onChange={(e) => {
            setApiKey(e.target.value);
            setDone(false);
          }}
        />
      </label>
      <button type="submit" disabled={action.busy}>
        Replace key
      </button>
      {done ? (
        <p role="status">
          Key replaced; only its last four characters are shown from now on.
        </p>
      ) : null}
      <ActionError error={action.error} />
    </form>
  );
}
