// An OpenID Connect provider for the sign-in tests: panva's oidc-provider on 127.0.0.1, run as a child process
// because the library is ESM-only and jest loads tests as CommonJS. It prints one JSON line with its issuer
// once it listens. The test steers it over HTTP:
//   POST /control/account  {sub, preferred_username?, email?, groups?}   who signs in at the next login prompt
//   POST /control/fault    {fault: "none" | "wrong-audience" | "clock-behind"}
// "wrong-audience" re-signs the ID token of the token response with the provider's own key and another `aud`;
// "clock-behind" runs the provider's clock two hours slow, so the ID tokens it issues have already expired.
// Environment: OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI.

import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";

import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT } from "jose";
import Provider from "oidc-provider";

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingJwk = {
  ...privateKey.export({ format: "jwk" }),
  kid: "test-signing-key",
  alg: "RS256",
  use: "sig",
};

const realNow = Date.now.bind(Date);
let clockOffsetMs = 0;
Date.now = () => realNow() + clockOffsetMs;

let fault = "none";
let account = { sub: "nobody", groups: [] };

const server = createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.OIDC_CLIENT_ID,
      client_secret: process.env.OIDC_CLIENT_SECRET,
      redirect_uris: [process.env.OIDC_REDIRECT_URI],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  jwks: { keys: [signingJwk] },
  cookies: { keys: ["oidc-provider-test-cookie-key"] },
  scopes: ["openid", "profile", "email", "groups"],
  claims: {
    openid: ["sub"],
    profile: ["preferred_username"],
    email: ["email"],
    groups: ["groups"],
  },
  // Scope claims go into the ID token itself, where llm-proxy reads the groups.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: {
    url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  findAccount: (_ctx, sub) =>
    sub === account.sub
      ? { accountId: sub, claims: () => ({ ...account }) }
      : undefined,
});

provider.use(async (ctx, next) => {
  await next();
  if (
    fault === "wrong-audience" &&
    ctx.path === "/token" &&
    ctx.body?.id_token
  ) {
    ctx.body = {
      ...ctx.body,
      id_token: await resign(ctx.body.id_token, { aud: "another-app" }),
    };
  }
});

async function resign(jwt, changes) {
  const key = await importJWK(signingJwk, "RS256");
  return new SignJWT({ ...decodeJwt(jwt), ...changes })
    .setProtectedHeader(decodeProtectedHeader(jwt))
    .sign(key);
}

/** Signs in the configured account and grants what the client asked for, as a user clicking through would. */
async function interact(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === "login") {
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: account.sub } },
      { mergeWithLastSubmission: false },
    );
    return;
  }

  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({
        accountId: details.session.accountId,
        clientId: details.params.client_id,
      });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { consent: { grantId } },
    { mergeWithLastSubmission: true },
  );
}

async function readJson(req) {
  let text = "";
  for await (const chunk of req) text += chunk;
  return JSON.parse(text || "{}");
}

const handle = provider.callback();
server.on("request", async (req, res) => {
  try {
    if (req.method === "POST" && req.url === "/control/account") {
      account = { groups: [], ...(await readJson(req)) };
      res.writeHead(204).end();
    } else if (req.method === "POST" && req.url === "/control/fault") {
      fault = (await readJson(req)).fault;
      clockOffsetMs = fault === "clock-behind" ? -2 * 60 * 60 * 1000 : 0;
      res.writeHead(204).end();
    } else if (req.url.startsWith("/interaction/")) {
      await interact(req, res);
    } else {
      handle(req, res);
    }
  } catch (error) {
    res.writeHead(500, { "content-type": "text/plain" }).end(String(error));
  }
});

process.on("SIGTERM", () => server.close(() => process.exit(0)));
console.log(JSON.stringify({ issuer }));
