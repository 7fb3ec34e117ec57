//! HTTP tests of the kluis server, on SQLite and PostgreSQL, against the router in process and
//! against a server spawned on port 0. One test binary (zero2prod style); run with nextest.

#[macro_use]
mod helpers;

mod access_bad_input;
mod audit;
mod auth_flows;
mod authz_matrix;
mod bad_input;
mod canary;
mod happy_path;
mod headers;
mod openapi;
mod register;
mod requests;
mod tls;
