import { FormEvent, useState } from "react";
import { Link } from "react-router";

import { api, Client, List } from "../api";
import { ActionError, Loadable, TableBox } from "../components";
import { count, usd } from "../format";
import { limitSummary } from "../limits";
import { useAction, useApi } from "../hooks";
import { useSession } from "../session";

/** Every client with its running totals and the models it may use. */
export function ClientsPage() {
  const clients = useApi<List<Client>>("/api/clients");
  const { canOperate } = useSession();

  return (
    <>
      <h1>Clients</h1>
      {canOperate ? <CreateClient onCreated={clients.reload} /> : null}
      <Loadable
        resource={clients}
        label="clients"
        isEmpty={(d) => d.items.length === 0}
      >
        {(data) => (
          <TableBox label="Clients">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Requests</th>
                <th scope="col">Tokens</th>
                <th scope="col">Cost</th>
                <th scope="col">Allowed models</th>
                <th scope="col">Limits</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((client) => (
                <tr key={client.id}>
                  <td>
                    <Link to={`/clients/${client.id}`}>{client.name}</Link>
                  </td>
                  <td>
                    <span className={`badge ${client.status}`}>
                      {client.status}
                    </span>
                  </td>
                  <td className="num">{count(client.totals.requests)}</td>
                  <td className="num">
                    {count(
                      client.totals.promptTokens +
                        client.totals.completionTokens,
                    )}
                  </td>
                  <td className="num">{usd(client.totals.cost)}</td>
                  <td>
                    {client.allowedModels === null
                      ? "all models"
                      : client.allowedModels.join(", ") || "none"}
                  </td>
                  <td>{limitSummary(client)}</td>
                </tr>
              ))}
            </tbody>
          </TableBox>
        )}
      </Loadable>
    </>
  );
}

function CreateClient(props: { onCreated: () => void }) {
  const [name, setName] = useState("");
  const [models, setModels] = useState("");
  const action = useAction();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const list = models
      .split(",")
      .map((model) => model.trim())
      .filter(Boolean);
    const created = await action.run(() =>
      api("POST", "/api/clients", {
        name,
        allowedModels: list.length === 0 ? null : list,
      }),
    );
    if (created !== null) {
      setName("");
      setModels("");
      props.onCreated();
    }
  };

  return (
    <details className="panel">
      <summary>New client</summary>
      <form className="inline-form" onSubmit={(event) => void submit(event)}>
        <label>
          Name
          <input
            required
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <label>
          Allowed models (comma-separated, empty for all)
          <input value={models} onChange={(e) => setModels(e.target.value)} />
        </label>
        <button type="submit" disabled={action.busy}>
          Create client
        </button>
        <ActionError error={action.error} />
      </form>
    </details>
  );
}
