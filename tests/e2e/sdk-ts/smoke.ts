// Smoke test of the TypeScript SDK generated from openapi/openapi.json (openapi-typescript types +
// openapi-fetch), run by tests/e2e/run.sh against the live server. It is type-checked with
// `tsc --noEmit --strict` first, so any drift between the spec and this usage fails the build.
//
// Env: E2E_BASE_URL, E2E_TOKEN (an ORG_ADMIN's bearer token), E2E_ORG (that organization's uuid).
import createClient from "openapi-fetch";
import type { components, operations, paths } from "../generated/ts/schema.js";

type Invitation = components["schemas"]["Invitation"];
type ErrorBody = components["schemas"]["ErrorBody"];
type ErrorCode = components["schemas"]["ErrorCode"];
type InvitationPage = components["schemas"]["InvitationPage"];

// The generated operations must be named after the spec's operationIds.
type RequiredOperations = Pick<
  operations,
  | "listInvitations"
  | "createInvitation"
  | "getInvitation"
  | "revokeInvitation"
  | "bulkCreateInvitations"
  | "updateInvitation"
  | "listEvents"
  | "createWebhook"
  | "listWebhooks"
  | "getWebhook"
  | "deleteWebhook"
  | "listWebhookDeliveries"
>;
const _operationsExist: keyof RequiredOperations = "listInvitations";
void _operationsExist;

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`  ok  ${what}`);
}

const baseUrl = env("E2E_BASE_URL");
const token = env("E2E_TOKEN");
const org = env("E2E_ORG");
const tag = `ts-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

const client = createClient<paths>({
  baseUrl,
  headers: { Authorization: `Bearer ${token}` },
});
const header = { "x-org-id": org };

async function create(email: string): Promise<Invitation> {
  const { data, error, response } = await client.POST("/api/v1/invitations", {
    params: { header },
    body: { email, role: "OPERATOR" },
  });
  if (error !== undefined) throw new Error(`createInvitation ${response.status}: ${JSON.stringify(error)}`);
  check(response.status === 201, `createInvitation ${email} -> 201`);
  check(response.headers.get("location") === `/api/v1/invitations/${data.id}`, "Location header points at the new invitation");
  return data;
}

async function main(): Promise<void> {
  // create 3
  const created: Invitation[] = [];
  for (let i = 1; i <= 3; i++) created.push(await create(`${tag}-${i}@Example.com`));
  const first = created[0];
  if (first === undefined) throw new Error("nothing created");
  check(first.email === `${tag}-1@example.com`, "email is stored lower-cased");
  check(first.status === "PENDING" && first.role === "OPERATOR", "new invitation is PENDING with the requested role");
  check(first.acceptedAt === null, "acceptedAt is present and null");
  check(first.organizationId === org, "organizationId is the x-org-id");

  // list with paging: 3 matching invitations, limit 2 -> 2 pages
  const page1 = await client.GET("/api/v1/invitations", {
    params: { header, query: { email: tag, limit: 2, page: 1 } },
  });
  if (page1.error !== undefined) throw new Error(`listInvitations ${page1.response.status}: ${JSON.stringify(page1.error)}`);
  const p1: InvitationPage = page1.data;
  check(page1.response.status === 200, "listInvitations -> 200");
  check(p1.meta.total === 3 && p1.meta.limit === 2 && p1.meta.page === 1, `page 1 meta ${JSON.stringify(p1.meta)}`);
  check(p1.meta.totalPages === 2, "meta.totalPages == 2");
  check(p1.data.length === 2, "page 1 has 2 items");
  check(p1.data[0]?.id === created[2]?.id, "newest first");
  const page2 = await client.GET("/api/v1/invitations", {
    params: { header, query: { email: tag, limit: 2, page: 2 } },
  });
  if (page2.error !== undefined) throw new Error(`listInvitations page 2 ${page2.response.status}`);
  check(page2.data.meta.page === 2 && page2.data.data.length === 1, "page 2 has the 1 remaining item");
  check(page2.data.data[0]?.id === first.id, "page 2 holds the oldest invitation");

  // get
  const got = await client.GET("/api/v1/invitations/{id}", { params: { header, path: { id: first.id } } });
  if (got.error !== undefined) throw new Error(`getInvitation ${got.response.status}: ${JSON.stringify(got.error)}`);
  check(got.data.id === first.id && got.data.email === first.email, "getInvitation returns the invitation");

  // revoke
  const revoked = await client.DELETE("/api/v1/invitations/{id}", { params: { header, path: { id: first.id } } });
  if (revoked.error !== undefined) throw new Error(`revokeInvitation ${revoked.response.status}: ${JSON.stringify(revoked.error)}`);
  check(revoked.response.status === 200 && revoked.data.message === "Invitation revoked", "revokeInvitation -> 200 Invitation revoked");
  const after = await client.GET("/api/v1/invitations/{id}", { params: { header, path: { id: first.id } } });
  check(after.data?.status === "REVOKED", "revoked invitation reads REVOKED");

  // 409: the same email twice, error envelope read through the generated ErrorBody type
  const dup = await client.POST("/api/v1/invitations", {
    params: { header },
    body: { email: `${tag}-2@example.com` },
  });
  check(dup.data === undefined && dup.error !== undefined, "second create of the same email fails");
  const err: ErrorBody = dup.error;
  const code: ErrorCode = err.code;
  check(dup.response.status === 409, "status 409");
  check(code === "CONFLICT", `code == CONFLICT (${code})`);
  check(err.statusCode === 409 && err.error === "Conflict", "statusCode 409, error Conflict");
  check(typeof err.message === "string" && typeof err.details === "object" && err.details !== null, "message and details present");
  // CONTRACT §10.1: details names the live pending invitation the create conflicts with.
  check(err.details.invitationId === created[1]?.id, `details.invitationId names the pending invitation (${JSON.stringify(err.details)})`);

  // 404 through the same types
  const missing = await client.GET("/api/v1/invitations/{id}", {
    params: { header, path: { id: "00000000-0000-4000-8000-000000000000" } },
  });
  check(missing.error?.code === "INVITATION_NOT_FOUND" && missing.error.statusCode === 404, "unknown id -> 404 INVITATION_NOT_FOUND");

  // CONTRACT §10.3: bulk create, one good item and one duplicate of it.
  const bulk = await client.POST("/api/v1/invitations/bulk", {
    params: { header },
    body: { invitations: [{ email: `${tag}-bulk@example.com` }, { email: `${tag}-bulk@example.com` }] },
  });
  if (bulk.error !== undefined) throw new Error(`bulkCreateInvitations ${bulk.response.status}: ${JSON.stringify(bulk.error)}`);
  check(bulk.response.status === 200, "bulkCreateInvitations -> 200");
  check(bulk.data.meta.created === 1 && bulk.data.meta.failed === 1, `bulk meta ${JSON.stringify(bulk.data.meta)}`);
  const [okItem, dupItem] = bulk.data.data;
  check(okItem?.status === 201 && okItem.invitation !== null && okItem.error === null, "item 0 created");
  check(dupItem?.status === 409 && dupItem.error?.code === "CONFLICT" && dupItem.invitation === null, "item 1 is CONFLICT");
  const bulkId = okItem?.invitation?.id;
  if (bulkId === undefined) throw new Error("bulk created nothing");
  check(okItem?.invitation?.delivery.status === "QUEUED" && okItem.invitation.sendCount === 1, "delivery QUEUED, sendCount 1");

  // CONTRACT §10.2: fix the role without revoking.
  const updated = await client.PATCH("/api/v1/invitations/{id}", {
    params: { header, path: { id: bulkId } },
    body: { role: "ORG_ADMIN" },
  });
  if (updated.error !== undefined) throw new Error(`updateInvitation ${updated.response.status}: ${JSON.stringify(updated.error)}`);
  check(updated.data.role === "ORG_ADMIN" && updated.data.id === bulkId, "updateInvitation changes the role");

  // CONTRACT §10.5: a retry with the same Idempotency-Key replays the first answer.
  const key = `${tag}-key`;
  const once = await client.POST("/api/v1/invitations", {
    params: { header: { ...header, "Idempotency-Key": key } },
    body: { email: `${tag}-idem@example.com` },
  });
  const twice = await client.POST("/api/v1/invitations", {
    params: { header: { ...header, "Idempotency-Key": key } },
    body: { email: `${tag}-idem@example.com` },
  });
  check(once.response.status === 201 && twice.response.status === 201, "both answers are 201");
  check(twice.response.headers.get("idempotent-replayed") === "true", "the retry says Idempotent-Replayed: true");
  check(once.data?.id !== undefined && once.data.id === twice.data?.id, "the retry names the same invitation");

  // CONTRACT §10.6: the audit trail names the change and who made it.
  const trail = await client.GET("/api/v1/events", {
    params: { header, query: { invitationId: bulkId, limit: 10 } },
  });
  if (trail.error !== undefined) throw new Error(`listEvents ${trail.response.status}: ${JSON.stringify(trail.error)}`);
  const kinds = trail.data.data.map((e) => e.type);
  // The worker may record invitation.email_sent at any point; created and updated keep their order.
  const [upd, cre] = [kinds.indexOf("invitation.updated"), kinds.indexOf("invitation.created")];
  check(upd >= 0 && cre > upd, `events newest first: ${kinds.join(", ")}`);
  check(trail.data.data.every((e) => e.invitationId === bulkId && e.organizationId === org), "events filtered by invitationId");

  // CONTRACT §10.7: register, read, list deliveries, delete.
  const hook = await client.POST("/api/v1/webhooks", {
    params: { header },
    body: { url: "http://127.0.0.1:9/voke", eventTypes: ["invitation.accepted", "invitation.declined"], description: tag },
  });
  if (hook.error !== undefined) throw new Error(`createWebhook ${hook.response.status}: ${JSON.stringify(hook.error)}`);
  check(hook.response.status === 201 && hook.data.secret.startsWith("whsec_"), "createWebhook -> 201 with a whsec_ secret");
  const hookId = hook.data.id;
  const listed = await client.GET("/api/v1/webhooks", { params: { header } });
  check(listed.data?.data.some((w) => w.id === hookId && w.description === tag) === true, "listWebhooks shows it");
  const one = await client.GET("/api/v1/webhooks/{id}", { params: { header, path: { id: hookId } } });
  check(one.data?.eventTypes.join(",") === "invitation.accepted,invitation.declined", "getWebhook keeps its types");
  const sent = await client.GET("/api/v1/webhooks/{id}/deliveries", { params: { header, path: { id: hookId } } });
  check(sent.response.status === 200 && sent.data?.meta.total === 0, "listWebhookDeliveries -> 200, none yet");
  const gone = await client.DELETE("/api/v1/webhooks/{id}", { params: { header, path: { id: hookId } } });
  check(gone.data?.message === "Webhook deleted", "deleteWebhook -> Webhook deleted");
  const afterDelete = await client.GET("/api/v1/webhooks/{id}", { params: { header, path: { id: hookId } } });
  check(afterDelete.response.status === 404 && afterDelete.error?.code === "NOT_FOUND", "a deleted webhook is NOT_FOUND");

  console.log("typescript sdk: all checks passed");
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
