-- Population scoring runs: one row per run, one per finished chunk, one per (patient, outcome) estimate.
CREATE TABLE score_run (
    run_id         TEXT        NOT NULL PRIMARY KEY,
    source         TEXT        NOT NULL,
    index_at       TEXT        NOT NULL,
    chunk_count    INTEGER     NOT NULL,
    patient_count  INTEGER     NOT NULL,
    model_versions TEXT        NOT NULL,
    status         TEXT        NOT NULL,
    started_at     TEXT        NOT NULL,
    completed_at   TEXT        NULL
);

CREATE INDEX ix_score_run_completed_at ON score_run (completed_at);

CREATE TABLE score_chunk (
    run_id       TEXT        NOT NULL REFERENCES score_run (run_id),
    chunk        INTEGER     NOT NULL,
    patients     INTEGER     NOT NULL,
    node         TEXT        NOT NULL,
    completed_at TEXT        NOT NULL,
    PRIMARY KEY (run_id, chunk)
);

-- Keyed by run, patient and outcome: a retried chunk or a repeated run writes the same rows, never more.
CREATE TABLE score_result (
    run_id          TEXT             NOT NULL REFERENCES score_run (run_id),
    patient_id      TEXT             NOT NULL,
    outcome         TEXT             NOT NULL,
    estimate        REAL             NOT NULL,
    band            TEXT             NULL,
    model_version   TEXT             NOT NULL,
    top_factors     TEXT             NOT NULL,
    recommendations TEXT             NOT NULL,
    PRIMARY KEY (run_id, patient_id, outcome)
);

CREATE INDEX ix_score_result_rank ON score_result (run_id, outcome, estimate);
