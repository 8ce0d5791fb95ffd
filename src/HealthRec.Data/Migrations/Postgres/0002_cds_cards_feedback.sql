-- What a CDS Hooks call answered, and what the clinician did with it. Ids, codes and the words shown; never tokens.
ALTER TABLE cds_invocation ADD COLUMN client_issuer TEXT NULL;
ALTER TABLE cds_invocation ADD COLUMN client_jti TEXT NULL;
ALTER TABLE cds_invocation ADD COLUMN model_versions TEXT NULL;
ALTER TABLE cds_invocation ADD COLUMN data_source TEXT NULL;

-- One row per card returned; feedback names a card by its uuid.
CREATE TABLE cds_card (
    card_uuid     TEXT        NOT NULL PRIMARY KEY,
    service_id    TEXT        NOT NULL,
    hook_instance TEXT        NOT NULL,
    position      INTEGER     NOT NULL,
    kind          TEXT        NOT NULL,
    subject       TEXT        NOT NULL,
    indicator     TEXT        NOT NULL,
    summary       TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (service_id, hook_instance) REFERENCES cds_invocation (service_id, hook_instance)
);

CREATE INDEX ix_cds_card_invocation ON cds_card (service_id, hook_instance);

-- One row per suggestion on a card; intervention_id is the catalog item it proposes.
CREATE TABLE cds_suggestion (
    suggestion_uuid TEXT NOT NULL PRIMARY KEY,
    card_uuid       TEXT NOT NULL REFERENCES cds_card (card_uuid),
    position        INTEGER NOT NULL,
    intervention_id TEXT NULL,
    label           TEXT NOT NULL
);

CREATE INDEX ix_cds_suggestion_card ON cds_suggestion (card_uuid);

-- Feedback items; feedback_key is a hash of the item, so a repeat is stored once.
CREATE TABLE cds_feedback (
    feedback_key         TEXT        NOT NULL PRIMARY KEY,
    card_uuid            TEXT        NOT NULL REFERENCES cds_card (card_uuid),
    service_id           TEXT        NOT NULL,
    outcome              TEXT        NOT NULL,
    override_system      TEXT        NULL,
    override_code        TEXT        NULL,
    user_comment         TEXT        NULL,
    outcome_at           TIMESTAMPTZ NOT NULL,
    received_at          TIMESTAMPTZ NOT NULL,
    client_issuer        TEXT        NULL
);

CREATE INDEX ix_cds_feedback_card ON cds_feedback (card_uuid);

-- The suggestions an accepted feedback item names.
CREATE TABLE cds_feedback_suggestion (
    feedback_key    TEXT NOT NULL REFERENCES cds_feedback (feedback_key),
    suggestion_uuid TEXT NOT NULL REFERENCES cds_suggestion (suggestion_uuid),
    PRIMARY KEY (feedback_key, suggestion_uuid)
);

-- JWT ids already accepted, kept until the token would have expired: a replay is refused on every node.
CREATE TABLE cds_jti (
    issuer     TEXT        NOT NULL,
    jti        TEXT        NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (issuer, jti)
);

CREATE INDEX ix_cds_jti_expires_at ON cds_jti (expires_at);
