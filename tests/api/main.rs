//! Integration tests: the production app (`build_app`) with real migrations, on SQLite, or on
//! PostgreSQL when `TEST_DATABASE_URL` is set (a fresh database per test, dropped afterwards).

mod auth;
mod bulk;
mod cli;
mod concurrency;
mod counters;
mod cursor;
mod db_faults;
mod delivery_deadlines;
mod delivery_ownership;
mod delivery_status;
mod edge;
mod editing;
mod email;
mod envelope;
mod events;
mod examples;
mod helpers;
mod idempotency;
mod invitations;
mod jwks;
mod jwks_server;
mod lifecycle;
mod list;
mod membership_cache;
mod migrations;
mod proxy;
mod ratelimit;
mod shutdown;
mod slow_clients;
mod smtp_server;
mod socket;
mod spec;
mod webhook_receiver;
mod webhooks;
mod worker_support;
