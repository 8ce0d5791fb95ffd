-- One row per CDS Hooks service call: what feedback and audit refer to. No PHI beyond the patient's id.
CREATE TABLE cds_invocation (
    service_id    TEXT    NOT NULL,
    hook_instance TEXT    NOT NULL,
    hook          TEXT    NOT NULL,
    patient_id    TEXT    NULL,
    received_at   TEXT    NOT NULL,
    duration_ms   INTEGER NOT NULL,
    status_code   INTEGER NOT NULL,
    card_count    INTEGER NOT NULL,
    PRIMARY KEY (service_id, hook_instance)
);

CREATE INDEX ix_cds_invocation_received_at ON cds_invocation (received_at);
