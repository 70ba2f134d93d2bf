-- Queues one email for each of the first :m pending seeded invitations (SQLite;
-- sqlite3 -cmd ".parameter set :m 1000").
INSERT INTO email_outbox (id, invitation_id, recipient, token, status, attempts,
                          next_attempt_at, created_at, updated_at)
SELECT randomblob(16), id, email, printf('bench-token-%s', hex(id)), 'PENDING', 0,
       strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '-1 seconds'),
       strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')
FROM invitation WHERE status = 'PENDING' AND email LIKE 'seed%' LIMIT :m;
