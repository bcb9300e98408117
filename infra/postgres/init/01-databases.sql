-- Runs once, when the Postgres volume is first initialised (docker-entrypoint-initdb.d).
-- Each partner owns its database (docs/ARCHITECTURE.md#data-ownership); the migrate services
-- create the tables.
CREATE DATABASE partner_a;
CREATE DATABASE partner_b;
