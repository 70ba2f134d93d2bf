-- Queues one email for each of the first :m pending seeded invitations (PostgreSQL).
INSERT INTO email_outbox (id, invitation_id, recipient, token, status, attempts,
                          next_attempt_at, created_at, updated_at)
SELECT gen_random_uuid(), id, email, 'bench-token-' || id, 'PENDING', 0,
       now() - interval '1 second', now(), now()
FROM invitation WHERE status = 'PENDING' AND email LIKE 'seed%' LIMIT :m;
-- Rows written by SQL wake no worker by themselves (the service notifies after its own
-- commits); tell them, as an operator loading messages would.
NOTIFY email_outbox;
