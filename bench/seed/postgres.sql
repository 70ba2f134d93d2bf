-- Seeds :n invitations in organization :'org' (PostgreSQL; psql -v n=... -v org=...).
-- Every 5th row is ACCEPTED, every 7th REVOKED, the rest PENDING (expiring in 2027).
INSERT INTO invitation (id, organization_id, email, role, status, invited_by, token_hash,
                        expires_at, accepted_at, created_at, updated_at)
SELECT gen_random_uuid(),
       :'org'::uuid,
       'seed' || i || '@bench.example',
       CASE i % 3 WHEN 0 THEN 'ORG_ADMIN' WHEN 1 THEN 'OPERATOR' ELSE 'VIEWER' END,
       CASE WHEN i % 5 = 0 THEN 'ACCEPTED' WHEN i % 7 = 0 THEN 'REVOKED' ELSE 'PENDING' END,
       'bench-admin',
       CASE WHEN i % 5 = 0 OR i % 7 = 0 THEN NULL ELSE lpad(to_hex(i), 64, '0') END,
       timestamptz '2027-06-01 00:00:00+00',
       CASE WHEN i % 5 = 0 THEN timestamptz '2026-11-30 00:00:00+00' END,
       timestamptz '2026-01-01 00:00:00+00' + i * interval '13 seconds',
       timestamptz '2026-01-01 00:00:00+00' + i * interval '13 seconds'
FROM generate_series(1, :n) AS i;
ANALYZE invitation;
