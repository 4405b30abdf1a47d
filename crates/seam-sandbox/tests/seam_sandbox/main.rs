//! The Seam sandbox over real HTTP: PROVIDERS.md §4.4, point by point.
mod access_codes;
mod auth;
mod helpers;
mod keypad;
mod lifecycle;
mod webhooks;
