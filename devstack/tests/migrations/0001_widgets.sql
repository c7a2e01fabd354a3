-- A tiny schema for devstack's own tests: proves the template is migrated once and cloned.
CREATE TABLE widgets (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO widgets (name) VALUES ('from-the-template');
