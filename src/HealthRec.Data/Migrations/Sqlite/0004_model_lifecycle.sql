-- Every promotion-gate decision, with the numbers it used (checks as JSON); a challenger is judged once per attempt key.
CREATE TABLE model_decision (
    outcome       TEXT    NOT NULL,
    challenger    TEXT    NOT NULL,
    champion      TEXT    NULL,
    promoted      INTEGER NOT NULL,
    test_examples INTEGER NOT NULL,
    summary       TEXT    NOT NULL,
    checks        TEXT    NOT NULL,
    decided_at    TEXT NOT NULL,
    node          TEXT    NOT NULL,
    PRIMARY KEY (outcome, challenger)
);

-- The champion's metrics on the newest labelled data, and feature drift (PSI) against its training data, per evaluation.
CREATE TABLE model_evaluation (
    evaluation_id TEXT    NOT NULL,
    outcome       TEXT    NOT NULL,
    version       TEXT    NOT NULL,
    evaluated_at  TEXT NOT NULL,
    source        TEXT    NOT NULL,
    examples      INTEGER NOT NULL,
    metrics       TEXT    NOT NULL,
    drift         TEXT    NOT NULL,
    drift_flag    TEXT    NOT NULL,
    PRIMARY KEY (evaluation_id, outcome)
);

CREATE INDEX ix_model_evaluation_outcome ON model_evaluation (outcome, evaluated_at);
