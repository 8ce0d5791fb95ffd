-- SMART app sessions, shared by every node: the session (with its tokens) is encrypted by the application with ASP.NET
-- Core Data Protection before it is written; only the random session id reaches the browser.
CREATE TABLE smart_session (
    session_id TEXT NOT NULL PRIMARY KEY,
    data       BLOB NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE INDEX ix_smart_session_expires ON smart_session (expires_at);

-- The Data Protection key ring, shared by every node so that any node can read what another encrypted.
CREATE TABLE data_protection_key (
    friendly_name TEXT NOT NULL PRIMARY KEY,
    xml           TEXT NOT NULL
);
