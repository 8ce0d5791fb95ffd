-- The audit trail: append-only, hash-chained. Each record stores SHA-256 over the previous record's hash and its own
-- content (see AuditStore); the database refuses to change or remove a record, so tampering needs the triggers dropped
-- first, and the chain then shows where.
CREATE TABLE audit_record (
    seq           BIGINT      NOT NULL PRIMARY KEY,
    recorded_at   TIMESTAMPTZ NOT NULL,
    resource_type TEXT        NOT NULL,
    resource_id   TEXT        NOT NULL,
    patient_id    TEXT        NULL,
    resource      TEXT        NOT NULL,
    prev_hash     TEXT        NOT NULL,
    hash          TEXT        NOT NULL
);

CREATE INDEX ix_audit_record_patient ON audit_record (patient_id, recorded_at);
CREATE INDEX ix_audit_record_type ON audit_record (resource_type, recorded_at);

CREATE FUNCTION audit_record_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_record is append-only: records are never changed or removed (% refused)', TG_OP;
END;
$$;

CREATE TRIGGER audit_record_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_record
    FOR EACH ROW EXECUTE FUNCTION audit_record_append_only();

CREATE TRIGGER audit_record_no_truncate BEFORE TRUNCATE ON audit_record
    FOR EACH STATEMENT EXECUTE FUNCTION audit_record_append_only();
