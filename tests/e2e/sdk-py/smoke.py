"""Smoke test of the Python SDK generated from openapi/openapi.json by openapi-python-client.

Run by tests/e2e/run.sh against the live server, with the generated package importable as
`voke_invitations_client` (run.sh puts tests/e2e/generated/py on PYTHONPATH).
Env: E2E_BASE_URL, E2E_TOKEN (an ORG_ADMIN's bearer token), E2E_ORG (that organization's uuid).

Every value passed to the client has the type the generated signatures declare, and every
response is read through the generated models, as a user of the SDK would.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
import typing
import uuid

# Modules named after the spec's operationIds (listInvitations -> list_invitations, ...).
from voke_invitations_client.api.invitations import (
    bulk_create_invitations,
    create_invitation,
    get_invitation,
    list_invitations,
    revoke_invitation,
    update_invitation,
)
from voke_invitations_client.api.events import list_events
from voke_invitations_client.api.webhooks import (
    create_webhook,
    delete_webhook,
    get_webhook,
    list_webhook_deliveries,
    list_webhooks,
)
from voke_invitations_client.client import AuthenticatedClient
from voke_invitations_client.models.bulk_create_invitations_request import BulkCreateInvitationsRequest
from voke_invitations_client.models.bulk_invitations_response import BulkInvitationsResponse
from voke_invitations_client.models.create_invitation_request import CreateInvitationRequest
from voke_invitations_client.models.error_body import ErrorBody
from voke_invitations_client.models.create_webhook_request import CreateWebhookRequest
from voke_invitations_client.models.created_webhook import CreatedWebhook
from voke_invitations_client.models.error_code import ErrorCode
from voke_invitations_client.models.event_page import EventPage
from voke_invitations_client.models.invitation import Invitation
from voke_invitations_client.models.invitation_page import InvitationPage
from voke_invitations_client.models.invitation_status import InvitationStatus
from voke_invitations_client.models.message_response import MessageResponse
from voke_invitations_client.models.org_role import OrgRole
from voke_invitations_client.models.update_invitation_request import UpdateInvitationRequest
from voke_invitations_client.models.webhook import Webhook
from voke_invitations_client.models.webhook_page import WebhookPage


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(f"check failed: {what}")
    print(f"  ok  {what}")


def main() -> None:
    base_url = os.environ["E2E_BASE_URL"]
    token = os.environ["E2E_TOKEN"]
    org_id = uuid.UUID(os.environ["E2E_ORG"])
    # Pass x-org-id with exactly the type the generated signature declares (uuid.UUID for a
    # `format: uuid` header, str otherwise), as a type-checked caller would.
    org_type = typing.get_type_hints(create_invitation.sync_detailed)["x_org_id"]
    org: typing.Any = org_id if org_type is uuid.UUID else str(org_id)
    tag = f"py-{int(time.time()):x}-{secrets.token_hex(3)}"

    with AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True) as client:
        # create 3
        created: list[Invitation] = []
        for i in (1, 2, 3):
            r = create_invitation.sync_detailed(
                client=client,
                x_org_id=org,
                body=CreateInvitationRequest(email=f"{tag}-{i}@Example.com", role=OrgRole.OPERATOR),
            )
            check(r.status_code == 201 and isinstance(r.parsed, Invitation), f"createInvitation {tag}-{i} -> 201")
            assert isinstance(r.parsed, Invitation)
            check(r.headers.get("location") == f"/api/v1/invitations/{r.parsed.id}", "Location header")
            created.append(r.parsed)
        first = created[0]
        check(first.email == f"{tag}-1@example.com", "email is stored lower-cased")
        check(first.status == InvitationStatus.PENDING and first.role == OrgRole.OPERATOR, "PENDING, role OPERATOR")
        check(first.accepted_at is None, "acceptedAt is null")
        check(first.organization_id == org_id, "organizationId is the x-org-id")

        # list with paging: 3 matching, limit 2 -> 2 pages
        r1 = list_invitations.sync_detailed(client=client, x_org_id=org, email=tag, limit=2, page=1)
        check(r1.status_code == 200 and isinstance(r1.parsed, InvitationPage), "listInvitations -> 200")
        assert isinstance(r1.parsed, InvitationPage)
        meta = r1.parsed.meta
        check((meta.page, meta.limit, meta.total) == (1, 2, 3), f"page 1 meta {meta.to_dict()}")
        check(meta.total_pages == 2, "meta.totalPages == 2")
        check([i.id for i in r1.parsed.data] == [created[2].id, created[1].id], "page 1: the 2 newest, newest first")
        r2 = list_invitations.sync_detailed(client=client, x_org_id=org, email=tag, limit=2, page=2)
        assert isinstance(r2.parsed, InvitationPage)
        check(r2.parsed.meta.page == 2 and [i.id for i in r2.parsed.data] == [first.id], "page 2: the oldest one")

        # get
        g = get_invitation.sync_detailed(client=client, id=first.id, x_org_id=org)
        check(g.status_code == 200 and isinstance(g.parsed, Invitation) and g.parsed.id == first.id, "getInvitation -> 200")

        # revoke
        d = revoke_invitation.sync_detailed(client=client, id=first.id, x_org_id=org)
        check(d.status_code == 200 and isinstance(d.parsed, MessageResponse), "revokeInvitation -> 200")
        assert isinstance(d.parsed, MessageResponse)
        check(d.parsed.message == "Invitation revoked", "message: Invitation revoked")
        g2 = get_invitation.sync(client=client, id=first.id, x_org_id=org)
        check(isinstance(g2, Invitation) and g2.status == InvitationStatus.REVOKED, "revoked invitation reads REVOKED")

        # 409: same email twice; the envelope is read through the generated ErrorBody model
        dup = create_invitation.sync_detailed(
            client=client, x_org_id=org, body=CreateInvitationRequest(email=f"{tag}-2@example.com")
        )
        check(dup.status_code == 409, "second create of the same email -> 409")
        check(isinstance(dup.parsed, ErrorBody), "409 body parses as ErrorBody")
        assert isinstance(dup.parsed, ErrorBody)
        check(dup.parsed.code == ErrorCode.CONFLICT, f"code == CONFLICT ({dup.parsed.code})")
        check(dup.parsed.status_code == 409 and dup.parsed.error == "Conflict", "statusCode 409, error Conflict")
        check(isinstance(dup.parsed.message, str), "message present")
        # CONTRACT §10.1: details names the live pending invitation the create conflicts with.
        details = dup.parsed.details.to_dict()
        check(details == {"invitationId": str(created[1].id)}, f"details names the pending invitation ({details})")

        # 404 through the same model
        nf = get_invitation.sync_detailed(client=client, id=uuid.UUID(int=0), x_org_id=org)
        check(
            isinstance(nf.parsed, ErrorBody) and nf.parsed.code == ErrorCode.INVITATION_NOT_FOUND and nf.status_code == 404,
            "unknown id -> 404 INVITATION_NOT_FOUND",
        )

        # CONTRACT §10.3: bulk create, one good item and one duplicate of it.
        email = f"{tag}-bulk@example.com"
        b = bulk_create_invitations.sync_detailed(
            client=client,
            x_org_id=org,
            body=BulkCreateInvitationsRequest(
                invitations=[CreateInvitationRequest(email=email), CreateInvitationRequest(email=email)]
            ),
        )
        check(b.status_code == 200 and isinstance(b.parsed, BulkInvitationsResponse), "bulkCreateInvitations -> 200")
        assert isinstance(b.parsed, BulkInvitationsResponse)
        check((b.parsed.meta.created, b.parsed.meta.failed) == (1, 1), "bulk meta: 1 created, 1 failed")
        ok_item, dup_item = b.parsed.data
        check(ok_item.status == 201 and ok_item.invitation is not None and ok_item.error is None, "item 0 created")
        check(dup_item.status == 409 and dup_item.invitation is None and dup_item.error is not None, "item 1 failed")
        assert dup_item.error is not None and ok_item.invitation is not None
        check(dup_item.error.to_dict()["code"] == "CONFLICT", "item 1 is CONFLICT")
        bulk_id = uuid.UUID(str(ok_item.invitation.to_dict()["id"]))

        # CONTRACT §10.2: fix the role without revoking.
        u = update_invitation.sync_detailed(
            client=client, id=bulk_id, x_org_id=org, body=UpdateInvitationRequest(role=OrgRole.ORG_ADMIN)
        )
        check(u.status_code == 200 and isinstance(u.parsed, Invitation), "updateInvitation -> 200")
        assert isinstance(u.parsed, Invitation)
        check(u.parsed.role == OrgRole.ORG_ADMIN and u.parsed.id == bulk_id, "the role is changed")

        # CONTRACT §10.5: a retry with the same Idempotency-Key replays the first answer.
        key = f"{tag}-key"
        once = create_invitation.sync_detailed(
            client=client, x_org_id=org, idempotency_key=key, body=CreateInvitationRequest(email=f"{tag}-idem@example.com")
        )
        twice = create_invitation.sync_detailed(
            client=client, x_org_id=org, idempotency_key=key, body=CreateInvitationRequest(email=f"{tag}-idem@example.com")
        )
        check(once.status_code == 201 and twice.status_code == 201, "both answers are 201")
        check(twice.headers.get("idempotent-replayed") == "true", "the retry says Idempotent-Replayed: true")
        assert isinstance(once.parsed, Invitation) and isinstance(twice.parsed, Invitation)
        check(once.parsed.id == twice.parsed.id, "the retry names the same invitation")

        # CONTRACT §10.6: the audit trail names the change and who made it.
        ev = list_events.sync_detailed(client=client, x_org_id=org, invitation_id=bulk_id, limit=10)
        check(ev.status_code == 200 and isinstance(ev.parsed, EventPage), "listEvents -> 200")
        assert isinstance(ev.parsed, EventPage)
        kinds = [e.type_.value for e in ev.parsed.data]
        # The worker may record invitation.email_sent at any point; created and updated keep their order.
        check(
            "invitation.updated" in kinds
            and "invitation.created" in kinds
            and kinds.index("invitation.updated") < kinds.index("invitation.created"),
            f"events newest first: {kinds}",
        )
        check(all(e.invitation_id == bulk_id for e in ev.parsed.data), "events filtered by invitationId")

        # CONTRACT §10.7: register, read, list deliveries, delete.
        request = CreateWebhookRequest.from_dict(
            {"url": "http://127.0.0.1:9/voke", "eventTypes": ["*"], "description": tag}
        )
        w = create_webhook.sync_detailed(client=client, x_org_id=org, body=request)
        check(w.status_code == 201 and isinstance(w.parsed, CreatedWebhook), "createWebhook -> 201")
        assert isinstance(w.parsed, CreatedWebhook)
        check(w.parsed.secret.startswith("whsec_"), "the secret is shown once, whsec_")
        hook_id = w.parsed.id
        lw = list_webhooks.sync_detailed(client=client, x_org_id=org)
        assert isinstance(lw.parsed, WebhookPage)
        check(any(h.id == hook_id for h in lw.parsed.data), "listWebhooks shows it")
        g = get_webhook.sync_detailed(client=client, id=hook_id, x_org_id=org)
        check(isinstance(g.parsed, Webhook), "getWebhook -> 200")
        d = list_webhook_deliveries.sync_detailed(client=client, id=hook_id, x_org_id=org)
        check(d.status_code == 200, "listWebhookDeliveries -> 200")
        rm = delete_webhook.sync_detailed(client=client, id=hook_id, x_org_id=org)
        check(isinstance(rm.parsed, MessageResponse) and rm.parsed.message == "Webhook deleted", "deleteWebhook")
        after = get_webhook.sync_detailed(client=client, id=hook_id, x_org_id=org)
        check(
            after.status_code == 404 and isinstance(after.parsed, ErrorBody) and after.parsed.code == ErrorCode.NOT_FOUND,
            "a deleted webhook is NOT_FOUND",
        )

    print("python sdk: all checks passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report and fail, without a long traceback for plain check failures
        if not isinstance(e, AssertionError):
            raise
        print(e, file=sys.stderr)
        sys.exit(1)
