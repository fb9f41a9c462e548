-- Privileges of the application role `lcm_app` (docs/audit.md, "PostgreSQL roles").
-- Run as the owner role (`lcm_owner`, which ran `manage.py migrate`) after
-- every migrate: psql "$OWNER_DATABASE_URL" -f docs/sql/app-role-grants.sql
-- tests/test_audit_roles.py runs this file and proves what it allows.

GRANT USAGE ON SCHEMA public TO lcm_app;

-- Everything but the audit log: read and write.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO lcm_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO lcm_app;

-- The audit log: read and append, never change or remove.
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON lcm_modechange FROM lcm_app;
GRANT SELECT, INSERT ON lcm_modechange TO lcm_app;

-- The chain head: every append increments its one row (UPDATE … RETURNING).
REVOKE INSERT, DELETE, TRUNCATE, REFERENCES, TRIGGER ON lcm_auditchainhead FROM lcm_app;
GRANT SELECT, UPDATE ON lcm_auditchainhead TO lcm_app;

-- Signed checkpoints (docs/audit.md, "Signed checkpoints"): the app signs and
-- stores them and marks them delivered to the witness; it never removes one.
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON lcm_auditcheckpoint FROM lcm_app;
GRANT SELECT, INSERT ON lcm_auditcheckpoint TO lcm_app;
GRANT UPDATE (witnessed_at) ON lcm_auditcheckpoint TO lcm_app;
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON lcm_audittreenode FROM lcm_app;
GRANT SELECT, INSERT ON lcm_audittreenode TO lcm_app;
REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON lcm_audittreestate FROM lcm_app;
GRANT SELECT, INSERT, UPDATE ON lcm_audittreestate TO lcm_app;
