//! The instance's mail, under its old path.
//!
//! The outgoing queue, the posts and their conversion to the wire moved to
//! the migration engine (`spumone_migration::outbox`, owned by
//! `spumone_migration::engine::Engine`); this module only re-exports them
//! for code that names them here. Owns nothing; must not grow code.

pub use spumone_migration::outbox::{Incoming, Post, PostStats, OUTBOX};
