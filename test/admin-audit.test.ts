import { rmSync } from "node:fs";

import OpenAI from "openai";

import { apiAs, JsonBody, seedRoleSessions } from "./support/admin-api";
import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";
import { ServerProcess, serverEnv } from "./support/server-process";
import { DatabaseReader, dropPostgresDatabase } from "./support/test-database";

/**
 * The audit trail: every change through the admin API is recorded with who, when, what, and the entity before
 * and after. A recognisable provider key and the issued client tokens never appear in a response other than the
 * one that issues a token, in a log line of the server process, or in an audit entry.
 */
describe("admin audit trail", () => {
  describe("entries", () => {
    let upstream: OpenAiUpstream;
    let proxy: ProxyHarness;
    let admin: ReturnType<typeof apiAs>;
    let operator: ReturnType<typeof apiAs>;

    beforeAll(async () => {
      upstream = await OpenAiUpstream.start();
      proxy = await ProxyHarness.start();
      const sessions = await seedRoleSessions(proxy, "audit");
      admin = apiAs(proxy.baseUrl, sessions.admin);
      operator = apiAs(proxy.baseUrl, sessions.operator);
    });

    afterAll(async () => {
      await proxy.stop();
      await upstream.stop();
    });

    it("records a change with actor, request id, before and after", async () => {
      const created = await operator("POST", "/api/clients", {
        name: "audited",
      });
      const updated = await operator(
        "PATCH",
        `/api/clients/${created.body.id}`,
        {
          status: "disabled",
          allowedModels: ["gpt-4o-mini"],
        },
      );
      const requestId = (
        await fetch(`${proxy.baseUrl}/api/clients/${created.body.id}`, {
          method: "PATCH",
          headers: {
            "content-type": "application/json",
            authorization: `Bearer ${(await seedRoleSessions(proxy, "audit-2")).operator}`,
            "x-request-id": "audit-trace-1",
          },
          body: JSON.stringify({ name: "audited-renamed" }),
        })
      ).headers.get("x-request-id");
      expect(updated.status).toBe(200);
      expect(requestId).toBe("audit-trace-1");

      const page = await admin(
        "GET",
        `/api/audit?entityType=client&entityId=${created.body.id}`,
      );
      expect(page.status).toBe(200);
      const [renamed, disabled, creation] = page.body.items;
      expect(creation).toMatchObject({
        actor: "audit-operator",
        actorUserId: expect.any(Number),
        action: "client.create",
        entityType: "client",
        entityId: String(created.body.id),
        before: null,
        after: { name: "audited", status: "active", allowedModels: null },
      });
      expect(disabled).toMatchObject({
        action: "client.update",
        before: { status: "active", allowedModels: null },
        after: { status: "disabled", allowedModels: ["gpt-4o-mini"] },
      });
      expect(renamed).toMatchObject({
        actor: "audit-2-operator",
        requestId: "audit-trace-1",
        before: { name: "audited" },
        after: { name: "audited-renamed" },
      });
      expect(Date.parse(creation.createdAt)).toBeLessThanOrEqual(
        Date.parse(renamed.createdAt),
      );
    });

    it("records nothing for a change that is refused", async () => {
      await operator("POST", "/api/clients", { name: "first" });
      const second = await operator("POST", "/api/clients", { name: "second" });
      const before = await admin("GET", "/api/audit?action=client.update");

      const refused = await operator(
        "PATCH",
        `/api/clients/${second.body.id}`,
        {
          name: "first",
        },
      );
      expect(refused.status).toBe(409);

      const after = await admin("GET", "/api/audit?action=client.update");
      expect(after.body.items).toEqual(before.body.items);
    });

    it("records top-ups with the ledger entry in the same change", async () => {
      const provider = await proxy.seedProvider({
        baseUrl: upstream.baseUrl,
        billing: "prepaid" as never,
      });
      const topUp = await operator(
        "POST",
        `/api/providers/${provider.providerId}/top-ups`,
        { amount: "12.50", note: "invoice 7" },
      );

      const page = await admin(
        "GET",
        `/api/audit?action=provider.topup&entityId=${provider.providerId}`,
      );
      expect(page.body.items).toEqual([
        expect.objectContaining({
          actor: "audit-operator",
          before: { creditBalance: "0.000000000" },
          after: {
            creditBalance: "12.500000000",
            amount: "12.500000000",
            ledgerEntryId: topUp.body.id,
            note: "invoice 7",
          },
        }),
      ]);
    });

    it("rolls the change back when its entry cannot be written", async () => {
      const provider = await proxy.seedProvider({
        baseUrl: upstream.baseUrl,
        billing: "prepaid" as never,
        balance: "3.00",
      });
      const [ledgerBefore] = await proxy.query<{ n: number }>(
        "select count(*) as n from balance_transactions",
      );

      await proxy.query(
        "alter table audit_entries rename to audit_entries_away",
      );
      try {
        const client = await operator("POST", "/api/clients", {
          name: "never-stored",
        });
        const topUp = await operator(
          "POST",
          `/api/providers/${provider.providerId}/top-ups`,
          { amount: "1.00" },
        );
        expect(client.status).toBe(500);
        expect(topUp.status).toBe(500);
      } finally {
        await proxy.query(
          "alter table audit_entries_away rename to audit_entries",
        );
      }

      const clients = await proxy.query(
        "select id from clients where name = ?",
        ["never-stored"],
      );
      expect(clients).toEqual([]);
      const [ledgerAfter] = await proxy.query<{ n: number }>(
        "select count(*) as n from balance_transactions",
      );
      expect(ledgerAfter.n).toBe(ledgerBefore.n);
      const fetched = await admin(
        "GET",
        `/api/providers/${provider.providerId}`,
      );
      expect(fetched.body.creditBalance).toBe("3.000000000");
    });

    it("filters by actor and time, and pages with a cursor", async () => {
      const start = new Date().toISOString();
      for (const name of ["page-a", "page-b", "page-c"]) {
        await admin("POST", "/api/clients", { name });
      }

      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query = `actor=audit-admin&action=client.create&from=${start}&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
        const page: {
          body: {
            items: { after: { name: string } }[];
            nextCursor: string | null;
          };
        } = await admin("GET", `/api/audit?${query}`);
        seen.push(...page.body.items.map((entry) => entry.after.name));
        cursor = page.body.nextCursor;
      } while (cursor);

      expect(seen).toEqual(["page-c", "page-b", "page-a"]);
      const later = await admin(
        "GET",
        `/api/audit?from=${new Date(Date.now() + 60_000).toISOString()}`,
      );
      expect(later.body.items).toEqual([]);
    });
  });

  describe("secrets", () => {
    const PROVIDER_KEY = "sk-CANARY-provider-key-7f3a9b2c4d5e6f708192";
    const ROTATED_KEY = "sk-CANARY-rotated-key-0a1b2c3d4e5f60718293";
    let upstream: OpenAiUpstream;
    let target: { folder: string; databaseUrl: string | null };
    let server: ServerProcess;
    let session: string;

    beforeAll(async () => {
      upstream = await OpenAiUpstream.start();
      const seeding = await ProxyHarness.start();
      session = (await seedRoleSessions(seeding, "leak")).admin;
      target = { folder: seeding.folder, databaseUrl: seeding.databaseUrl };
      await seeding.stop({ keepFiles: true });

      server = await ServerProcess.start({
        ...serverEnv(target, "spool"),
        LOG_LEVEL: "debug",
      });
    }, 90_000);

    afterAll(async () => {
      await server.stop("SIGKILL");
      await upstream.stop();
      rmSync(target.folder, { recursive: true, force: true });
      if (target.databaseUrl) {
        await dropPostgresDatabase(target.databaseUrl);
      }
    });

    it("never shows a provider key or client token outside the issuing response", async () => {
      const api = apiAs(server.baseUrl, session);
      const bodies: string[] = [];
      const call = async (
        method: string,
        path: string,
        body?: unknown,
      ): Promise<JsonBody> => {
        const response = await api(method, path, body);
        expect({ path, ok: response.status < 300 }).toEqual({ path, ok: true });
        bodies.push(response.text);
        return response.body;
      };

      const provider = await call("POST", "/api/providers", {
        name: "canary",
        baseUrl: upstream.baseUrl,
        apiKey: PROVIDER_KEY,
        billingMode: "prepaid",
      });
      await call("POST", `/api/providers/${provider.id}/top-ups`, {
        amount: "5.00",
      });
      await call("POST", "/api/models", {
        providerId: provider.id,
        publicName: "gpt-4o-mini",
        inputPrice: "2.50",
        outputPrice: "10.00",
      });
      const client = await call("POST", "/api/clients", { name: "canary-app" });

      // The two responses that carry a full token once, by design.
      const issued = await api("POST", `/api/clients/${client.id}/tokens`, {
        name: "first",
      });
      const rotated = await api(
        "POST",
        `/api/clients/${client.id}/tokens/${issued.body.id}/rotate`,
        { overlapSeconds: 60 },
      );
      const tokens = [issued.body.token, rotated.body.issued.token] as string[];
      expect(issued.text).toContain(tokens[0]);
      expect(rotated.text).toContain(tokens[1]);
      expect(rotated.text).not.toContain(tokens[0]);

      for (const token of tokens) {
        const openai = new OpenAI({
          apiKey: token,
          baseURL: `${server.baseUrl}/v1`,
          maxRetries: 0,
        });
        const answer = await openai.chat.completions.create({
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: "hi" }],
        });
        expect(answer.choices[0].message.content).toBe("Hello world!");
      }
      expect(upstream.requests.at(-1)?.headers.authorization).toBe(
        `Bearer ${PROVIDER_KEY}`,
      );

      await call("PUT", `/api/providers/${provider.id}/api-key`, {
        apiKey: ROTATED_KEY,
      });
      await call(
        "POST",
        `/api/clients/${client.id}/tokens/${issued.body.id}/revoke`,
      );
      const since = new Date(Date.now() - 3_600_000).toISOString();
      const until = new Date(Date.now() + 60_000).toISOString();
      for (const path of [
        "/api/providers",
        `/api/providers/${provider.id}`,
        "/api/clients",
        `/api/clients/${client.id}`,
        `/api/clients/${client.id}/tokens`,
        "/api/models",
        "/api/ledger",
        `/api/requests?clientId=${client.id}`,
        `/api/usage/daily?from=${since.slice(0, 10)}&to=${until.slice(0, 10)}`,
        "/api/usage/today",
        `/api/usage/errors?from=${since}&to=${until}`,
        "/api/jobs",
        "/api/jobs/runs",
        "/api/database/health",
        "/api/audit?limit=200",
      ]) {
        await call("GET", path);
      }

      const audit = JSON.parse(bodies.at(-1)!) as {
        items: { action: string }[];
      };
      expect(audit.items.map((entry) => entry.action)).toEqual(
        expect.arrayContaining([
          "provider.create",
          "provider.set_key",
          "client_token.issue",
          "client_token.rotate",
          "client_token.revoke",
        ]),
      );
      const reader = await DatabaseReader.open(target);
      const auditRows = JSON.stringify(
        await reader.query("select * from audit_entries"),
      );
      await reader.close();

      expect(await server.stop("SIGTERM")).toBe(0);
      const output = server.output;
      expect(output).toContain('"url":"/api/providers"');
      expect(auditRows).toContain("provider.set_key");

      const secrets = [PROVIDER_KEY, ROTATED_KEY, ...tokens];
      for (const secret of secrets) {
        for (const body of bodies) {
          expect(body).not.toContain(secret);
        }
        expect(output).not.toContain(secret);
        expect(auditRows).not.toContain(secret);
      }
      expect(auditRows).not.toContain("CANARY");
    });
  });
});
