-- What the audit trail is searched by (FHIR search parameters of the AuditEvent or GuidanceResponse a record holds:
-- patient, date, agent, entity, action, outcome, type, subtype, request), written with the record in the same
-- transaction and, like it, never changed.
CREATE TABLE audit_search (
    seq   BIGINT NOT NULL,
    name  TEXT   NOT NULL,
    value TEXT   NOT NULL
);

-- Serves every filter (name and value known, seq from the record); archiving's removal by seq scans, rarely.
CREATE INDEX ix_audit_search_value ON audit_search (name, value, seq);

-- A journal drained into the chain just before a crash is recognised by its last record's id.
CREATE INDEX ix_audit_record_resource ON audit_record (resource_id);

-- Each archive of records past the retention period: the last record it holds and that record's hash, which becomes
-- the start of the chain that remains, and the archive file with its SHA-256. Rows are only ever added.
CREATE TABLE audit_archive (
    archived_through BIGINT      NOT NULL PRIMARY KEY,
    archived_at      TIMESTAMPTZ NOT NULL,
    last_hash        TEXT        NOT NULL,
    records          BIGINT      NOT NULL,
    file             TEXT        NOT NULL,
    file_sha256      TEXT        NOT NULL
);

-- The one removal allowed: records an archive row already covers (the archive procedure writes that row first, after
-- verifying the chain and the archive file). Everything else stays refused.
CREATE OR REPLACE FUNCTION audit_record_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.seq <= (SELECT COALESCE(MAX(archived_through), 0) FROM audit_archive) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only: records are never changed or removed (% refused)', TG_TABLE_NAME, TG_OP;
END;
$$;

CREATE TRIGGER audit_search_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_search
    FOR EACH ROW EXECUTE FUNCTION audit_record_append_only();

CREATE TRIGGER audit_search_no_truncate BEFORE TRUNCATE ON audit_search
    FOR EACH STATEMENT EXECUTE FUNCTION audit_record_append_only();

CREATE FUNCTION audit_archive_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_archive is append-only (% refused)', TG_OP;
END;
$$;

CREATE TRIGGER audit_archive_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_archive
    FOR EACH ROW EXECUTE FUNCTION audit_archive_append_only();

CREATE TRIGGER audit_archive_no_truncate BEFORE TRUNCATE ON audit_archive
    FOR EACH STATEMENT EXECUTE FUNCTION audit_archive_append_only();
