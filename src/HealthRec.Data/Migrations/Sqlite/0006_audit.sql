-- The audit trail: append-only, hash-chained. Each record stores SHA-256 over the previous record's hash and its own
-- content (see AuditStore); the database refuses to change or remove a record, so tampering needs the triggers dropped
-- first, and the chain then shows where.
CREATE TABLE audit_record (
    seq           INTEGER NOT NULL PRIMARY KEY,
    recorded_at   TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    resource_id   TEXT    NOT NULL,
    patient_id    TEXT    NULL,
    resource      TEXT    NOT NULL,
    prev_hash     TEXT    NOT NULL,
    hash          TEXT    NOT NULL
);

CREATE INDEX ix_audit_record_patient ON audit_record (patient_id, recorded_at);
CREATE INDEX ix_audit_record_type ON audit_record (resource_type, recorded_at);

CREATE TRIGGER audit_record_no_update BEFORE UPDATE ON audit_record
BEGIN
    SELECT RAISE(ABORT, 'audit_record is append-only: records are never changed');
END;

CREATE TRIGGER audit_record_no_delete BEFORE DELETE ON audit_record
BEGIN
    SELECT RAISE(ABORT, 'audit_record is append-only: records are never removed');
END;
