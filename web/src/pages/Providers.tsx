import { Link } from "react-router";

import { List, Model, Provider } from "../api";
import { Loadable, TableBox } from "../components";
import { usd } from "../format";
import { useApi } from "../hooks";

/** Providers with their balances, and every model with its prices. */
export function ProvidersPage() {
  const providers = useApi<List<Provider>>("/api/providers");
  const models = useApi<List<Model>>("/api/models");

  return (
    <>
      <h1>Providers and models</h1>
      <Loadable
        resource={providers}
        label="providers"
        isEmpty={(d) => d.items.length === 0}
      >
        {(data) => (
          <TableBox label="Providers">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Billing</th>
                <th scope="col">Balance</th>
                <th scope="col">Held in flight</th>
                <th scope="col">Key</th>
                <th scope="col">Enabled</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((provider) => (
                <tr key={provider.id}>
                  <td>
                    <Link to={`/providers/${provider.id}`}>
                      {provider.name}
                    </Link>
                  </td>
                  <td>{provider.kind}</td>
                  <td>{provider.billingMode}</td>
                  <td className="num">
                    {provider.billingMode === "prepaid"
                      ? usd(provider.creditBalance)
                      : "postpaid"}
                  </td>
                  <td className="num">{usd(provider.creditReserved)}</td>
                  <td>
                    {provider.keyLast4 ? (
                      <code>…{provider.keyLast4}</code>
                    ) : (
                      "none"
                    )}
                  </td>
                  <td>{provider.enabled ? "yes" : "no"}</td>
                </tr>
              ))}
            </tbody>
          </TableBox>
        )}
      </Loadable>

      <h2>Models</h2>
      <p className="hint">Prices are USD per million tokens.</p>
      <Loadable
        resource={models}
        label="models"
        isEmpty={(d) => d.items.length === 0}
      >
        {(data) => (
          <ModelTable
            models={data.items}
            providers={providers.data?.items ?? []}
          />
        )}
      </Loadable>
    </>
  );
}

/** Models with their prices in USD per million tokens. */
export function ModelTable(props: { models: Model[]; providers: Provider[] }) {
  const names = new Map(
    props.providers.map((provider) => [provider.id, provider.name]),
  );
  return (
    <TableBox label="Models">
      <thead>
        <tr>
          <th scope="col">Model</th>
          <th scope="col">Provider</th>
          <th scope="col">Upstream name</th>
          <th scope="col">Input</th>
          <th scope="col">Output</th>
          <th scope="col">Cache read</th>
          <th scope="col">Cache write</th>
          <th scope="col">Reasoning</th>
          <th scope="col">Enabled</th>
        </tr>
      </thead>
      <tbody>
        {props.models.map((model) => (
          <tr key={model.id}>
            <td>{model.publicName}</td>
            <td>{names.get(model.providerId) ?? model.providerId}</td>
            <td>{model.upstreamName}</td>
            <td className="num">{usd(model.inputPrice)}</td>
            <td className="num">{usd(model.outputPrice)}</td>
            <td className="num">{usd(model.cacheReadPrice)}</td>
            <td className="num">{usd(model.cacheWritePrice)}</td>
            <td className="num">
              {model.reasoningPrice === null
                ? "as output"
                : usd(model.reasoningPrice)}
            </td>
            <td>{model.enabled ? "yes" : "no"}</td>
          </tr>
        ))}
      </tbody>
    </TableBox>
  );
}
