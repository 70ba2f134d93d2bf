//! Integration tests: the production app (`build_app`) with real migrations, on SQLite, or on
//! PostgreSQL when `TEST_DATABASE_URL` is set (a fresh database per test, dropped afterwards).

mod auth;
mod cli;
mod concurrency;
mod db_faults;
mod delivery_deadlines;
mod delivery_ownership;
mod edge;
mod email;
mod envelope;
mod examples;
mod helpers;
mod invitations;
mod jwks;
mod jwks_server;
mod lifecycle;
mod list;
mod migrations;
mod proxy;
mod ratelimit;
mod shutdown;
mod slow_clients;
mod smtp_server;
mod socket;
mod spec;
mod wakeup;
mod worker_support;
