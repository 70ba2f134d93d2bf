-- Seeds :n invitations into organization :org (plus an ORG_ADMIN member `bench-admin`).
--   psql "$DATABASE_URL" -v org=0190a5f0-0000-7000-8000-00000000b001 -v n=1000000 \
--        -f bench/seed/postgres.sql
-- Run after `voke-invitations migrate`. The counter triggers keep `meta.total` exact as the
-- rows land (one aggregated update per statement); `voke-invitations recount` rebuilds them
-- if the triggers were disabled for the load.
-- Mix: 10% PENDING (expiring in 7 days), 60% ACCEPTED, 10% DECLINED, 10% REVOKED,
-- 10% EXPIRED; roles VIEWER/OPERATOR/ORG_ADMIN in turn; one row per second of history,
-- newest first; emails seed<i>@bench.example (the `email` filter finds one with `seed123456@`).
\set ON_ERROR_STOP on
BEGIN;
INSERT INTO organization_member (organization_id, user_id, email, role, created_at, updated_at)
VALUES (:'org'::uuid, 'bench-admin', 'bench-admin@bench.example', 'ORG_ADMIN', now(), now())
ON CONFLICT DO NOTHING;
INSERT INTO invitation (id, organization_id, email, role, status, invited_by, token_hash,
                        expires_at, accepted_at, created_at, updated_at)
SELECT gen_random_uuid(), :'org'::uuid, 'seed' || i || '@bench.example',
       (ARRAY['VIEWER', 'OPERATOR', 'ORG_ADMIN'])[1 + i % 3],
       s.status, 'bench-admin', NULL,
       CASE WHEN s.status = 'PENDING' THEN now() + interval '7 days'
            ELSE now() - (i || ' seconds')::interval + interval '7 days' END,
       CASE WHEN s.status = 'ACCEPTED' THEN now() - (i || ' seconds')::interval END,
       now() - (i || ' seconds')::interval, now() - (i || ' seconds')::interval
FROM generate_series(1, :n) AS i,
     LATERAL (SELECT CASE i % 10 WHEN 0 THEN 'PENDING' WHEN 1 THEN 'DECLINED'
                                 WHEN 2 THEN 'REVOKED' WHEN 3 THEN 'EXPIRED'
                                 ELSE 'ACCEPTED' END AS status) s;
COMMIT;
ANALYZE invitation;
ANALYZE invitation_count;
