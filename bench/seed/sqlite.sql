-- Seeds @N@ invitations in organization X'@ORGHEX@' (SQLite). Run by bench/bench.py with @N@ and
-- @ORGHEX@ (the UUID as hex) substituted; replaceable by any script leaving the same rows.
-- Storage as the app writes it: UUIDs as 16-byte blobs, timestamps as RFC 3339 text.
-- Every 5th row is ACCEPTED, every 7th REVOKED, the rest PENDING (expiring in 2027).
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < @N@)
INSERT INTO invitation (id, organization_id, email, role, status, invited_by, token_hash,
                        expires_at, accepted_at, created_at, updated_at)
SELECT randomblob(16),
       X'@ORGHEX@',
       'seed' || i || '@bench.example',
       CASE i % 3 WHEN 0 THEN 'ORG_ADMIN' WHEN 1 THEN 'OPERATOR' ELSE 'VIEWER' END,
       CASE WHEN i % 5 = 0 THEN 'ACCEPTED' WHEN i % 7 = 0 THEN 'REVOKED' ELSE 'PENDING' END,
       'bench-admin',
       CASE WHEN i % 5 = 0 OR i % 7 = 0 THEN NULL ELSE printf('%064x', i) END,
       '2027-06-01T00:00:00.000+00:00',
       CASE WHEN i % 5 = 0 THEN '2026-11-30T00:00:00.000+00:00' END,
       strftime('%Y-%m-%dT%H:%M:%f+00:00', '2026-01-01', '+' || (i * 13) || ' seconds'),
       strftime('%Y-%m-%dT%H:%M:%f+00:00', '2026-01-01', '+' || (i * 13) || ' seconds')
FROM seq;
