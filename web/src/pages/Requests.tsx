import { FormEvent, useState } from "react";

import { Client, List, Page, Provider, query, RequestEntry } from "../api";
import { Loadable, TableBox } from "../components";
import { count, localInputToIso, time, timeZone, usd } from "../format";
import { useApi } from "../hooks";
import { Pager } from "./ProviderDetail";

interface Filters {
  clientId: string;
  providerId: string;
  model: string;
  status: string;
  from: string;
  to: string;
}

const NO_FILTERS: Filters = {
  clientId: "",
  providerId: "",
  model: "",
  status: "",
  from: "",
  to: "",
};

/** The request log with filters, cursor pages and a detail view of one request. */
export function RequestsPage() {
  const clients = useApi<List<Client>>("/api/clients");
  const providers = useApi<List<Provider>>("/api/providers");
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [cursors, setCursors] = useState<string[]>([]);
  const [selected, setSelected] = useState<RequestEntry | null>(null);
  const cursor = cursors[cursors.length - 1];

  const page = useApi<Page<RequestEntry>>(
    `/api/requests${query({
      clientId: filters.clientId,
      providerId: filters.providerId,
      model: filters.model,
      status: filters.status,
      from: localInputToIso(filters.from),
      to: localInputToIso(filters.to),
      limit: 50,
      cursor,
    })}`,
  );
  const clientNames = new Map(clients.data?.items.map((c) => [c.id, c.name]));
  const providerNames = new Map(
    providers.data?.items.map((p) => [p.id, p.name]),
  );

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
    setCursors([]);
    setSelected(null);
  };
  const set = (key: keyof Filters) => (event: { target: { value: string } }) =>
    setDraft({ ...draft, [key]: event.target.value });

  return (
    <>
      <h1>Requests</h1>
      <form className="filters" onSubmit={apply} aria-label="Filter requests">
        <label>
          Client
          <select value={draft.clientId} onChange={set("clientId")}>
            <option value="">any</option>
            {clients.data?.items.map((client) => (
              <option key={client.id} value={client.id}>
                {client.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Provider
          <select value={draft.providerId} onChange={set("providerId")}>
            <option value="">any</option>
            {providers.data?.items.map((provider) => (
              <option key={provider.id} value={provider.id}>
                {provider.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Model
          <input value={draft.model} onChange={set("model")} />
        </label>
        <label>
          Status
          <select value={draft.status} onChange={set("status")}>
            <option value="">any</option>
            <option value="completed">completed</option>
            <option value="incomplete">incomplete</option>
            <option value="failed">failed</option>
          </select>
        </label>
        <label>
          From ({timeZone})
          <input
            type="datetime-local"
            value={draft.from}
            onChange={set("from")}
          />
        </label>
        <label>
          Until ({timeZone})
          <input type="datetime-local" value={draft.to} onChange={set("to")} />
        </label>
        <button type="submit">Apply filters</button>
      </form>

      {selected ? (
        <RequestDetail
          entry={selected}
          clientName={clientNames.get(selected.clientId)}
          providerName={providerNames.get(selected.providerId)}
          onClose={() => setSelected(null)}
        />
      ) : null}

      <Loadable
        resource={page}
        label="requests"
        isEmpty={(d) => d.items.length === 0}
        empty="No requests match these filters."
      >
        {(data) => (
          <>
            <TableBox label="Requests">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Client</th>
                  <th scope="col">Provider</th>
                  <th scope="col">Model</th>
                  <th scope="col">Status</th>
                  <th scope="col">Tokens in / out</th>
                  <th scope="col">Cost</th>
                  <th scope="col">Latency</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((entry) => (
                  <tr key={entry.id} data-testid="request-row">
                    <td>{time(entry.createdAt)}</td>
                    <td>{clientNames.get(entry.clientId) ?? entry.clientId}</td>
                    <td>
                      {providerNames.get(entry.providerId) ?? entry.providerId}
                    </td>
                    <td>{entry.model}</td>
                    <td>
                      <span className={`badge ${entry.status}`}>
                        {entry.status}
                      </span>
                    </td>
                    <td className="num">
                      {count(entry.promptTokens)} /{" "}
                      {count(entry.completionTokens)}
                      {entry.usageEstimated ? <Estimated /> : null}
                    </td>
                    <td className="num">{usd(entry.cost)}</td>
                    <td className="num">{count(entry.latencyMs)} ms</td>
                    <td>
                      <button type="button" onClick={() => setSelected(entry)}>
                        View{" "}
                        <span className="visually-hidden">
                          request {entry.requestId}
                        </span>
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </TableBox>
            <Pager
              hasPrevious={cursors.length > 0}
              nextCursor={data.nextCursor}
              onPrevious={() => setCursors(cursors.slice(0, -1))}
              onNext={(next) => setCursors([...cursors, next])}
            />
          </>
        )}
      </Loadable>
    </>
  );
}

function Estimated() {
  return (
    <abbr
      className="estimated"
      title="Estimated with a tokenizer; the provider reported no usage"
    >
      {" "}
      (estimated)
    </abbr>
  );
}

function RequestDetail(props: {
  entry: RequestEntry;
  clientName?: string;
  providerName?: string;
  onClose: () => void;
}) {
  const { entry } = props;
  const rows: [string, string][] = [
    ["Request id", entry.requestId],
    ["Time", time(entry.createdAt)],
    ["Client", `${props.clientName ?? ""} (id ${entry.clientId})`],
    ["Token id", entry.tokenId === null ? "none" : String(entry.tokenId)],
    ["Provider", `${props.providerName ?? ""} (id ${entry.providerId})`],
    ["Model", entry.model],
    ["Endpoint", entry.endpoint],
    ["Status", entry.status],
    ["Error class", entry.errorClass ?? "none"],
    [
      "Upstream status",
      entry.upstreamStatus === null ? "none" : String(entry.upstreamStatus),
    ],
    ["Streamed", entry.streamed ? "yes" : "no"],
    ["Prompt tokens", count(entry.promptTokens)],
    ["Completion tokens", count(entry.completionTokens)],
    ["Cache read tokens", count(entry.cacheReadTokens)],
    ["Cache write tokens", count(entry.cacheWriteTokens)],
    ["Reasoning tokens", count(entry.reasoningTokens)],
    [
      "Token counts",
      entry.usageEstimated
        ? "estimated with a tokenizer"
        : "reported by the provider",
    ],
    ["Cost", usd(entry.cost)],
    ["Latency", `${count(entry.latencyMs)} ms`],
    [
      "Time to first token",
      entry.ttftMs === null ? "none" : `${count(entry.ttftMs)} ms`,
    ],
  ];
  return (
    <section className="panel" aria-labelledby="request-detail-heading">
      <h2 id="request-detail-heading">Request {entry.requestId}</h2>
      <dl className="detail">
        {rows.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      <button type="button" onClick={props.onClose}>
        Close details
      </button>
    </section>
  );
}
