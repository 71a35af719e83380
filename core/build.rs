//! Rebuilds this crate when a migration is added or changed: `sqlx::migrate!` embeds the
//! migrations at compile time, and without this a new migration file left a build that
//! said "Finished" with the old set inside (as `sqlx migrate build-script` advises).

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
