-- Seeds :n invitations into organization :org (plus an ORG_ADMIN member `bench-admin`).
-- SQLite stores UUIDs as 16-byte blobs and timestamps as RFC 3339 text, so pass the org as
-- hex without dashes:
--   sqlite3 bench.db -cmd ".parameter set :org \"X'0190A5F00000700080000000000B0001'\"" \
--           -cmd ".parameter set :n 1000000" < bench/seed/sqlite.sql
-- Run after `voke-invitations migrate`; the counter triggers count the rows as they land.
-- Same mix as postgres.sql.
BEGIN;
INSERT OR IGNORE INTO organization_member (organization_id, user_id, email, role, created_at, updated_at)
VALUES (:org, 'bench-admin', 'bench-admin@bench.example', 'ORG_ADMIN',
        strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :n),
rows AS (
    SELECT i,
           CASE i % 10 WHEN 0 THEN 'PENDING' WHEN 1 THEN 'DECLINED' WHEN 2 THEN 'REVOKED'
                       WHEN 3 THEN 'EXPIRED' ELSE 'ACCEPTED' END AS status,
           strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '-' || i || ' seconds') AS at
    FROM seq
)
INSERT INTO invitation (id, organization_id, email, role, status, invited_by, token_hash,
                        expires_at, accepted_at, created_at, updated_at)
SELECT randomblob(16), :org, 'seed' || i || '@bench.example',
       CASE i % 3 WHEN 0 THEN 'VIEWER' WHEN 1 THEN 'OPERATOR' ELSE 'ORG_ADMIN' END,
       status, 'bench-admin', NULL,
       CASE WHEN status = 'PENDING' THEN strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '+7 days')
            ELSE strftime('%Y-%m-%dT%H:%M:%f+00:00', at, '+7 days') END,
       CASE WHEN status = 'ACCEPTED' THEN at END,
       at, at
FROM rows;
COMMIT;
ANALYZE;
