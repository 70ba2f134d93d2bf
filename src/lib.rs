//! voke-invitations: the Voke organization-invitations REST API. `api` holds the poem-openapi
//! handlers and wire types, `service` the business rules and queries, `entity` the SeaORM
//! models; `error` is the single mapping from failure to HTTP, and `startup` assembles the app
//! that both the binary and the tests run.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod cors;
pub mod db;
pub mod docs;
pub mod entity;
pub mod error;
pub mod load;
pub mod mail;
pub mod metrics;
pub mod middleware;
pub mod ratelimit;
pub mod routes;
pub mod server;
pub mod service;
pub mod startup;
pub mod telemetry;
pub mod worker;
