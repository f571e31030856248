//! Nothing but the `peers` benchmark (`benches/peers.rs`): see `../README.md`.
