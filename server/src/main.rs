//! `hourmark`: run the server (default), or one of the operators' commands (migrate,
//! verify the register, re-seal personal data, back up and restore SQLite, check a
//! certificate PDF offline, seed a benchmark database).

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hourmark_core::SystemClock;
use hourmark_server::Config;

#[derive(Debug, Parser)]
#[command(name = "hourmark", version, about = "Volunteer attendance and service records")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Check the whole register's hash chain and report the first broken link (exit code
    /// 1 if there is one).
    VerifyRegister,
    /// Check a certificate PDF offline: the signed content embedded in it against the
    /// public key (`--public-key`, or the one of `HOURMARK_CERTIFICATE_KEY`). Says `valid`
    /// (exit code 0) or `TAMPERED` (exit code 1). The file's text is not read: only its
    /// signed payload counts, so compare the printed content with the page.
    VerifyCertificate {
        /// The certificate PDF.
        file: std::path::PathBuf,
        /// The raw 32-byte Ed25519 public key, base64 (`hourmark certificate-public-key`).
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Print the certificate key's id and public key (base64), for `verify-certificate`
    /// elsewhere.
    CertificatePublicKey,
    /// Re-seal every sealed ID number, phone number and other personal value under the
    /// current key (`HOURMARK_PII_CURRENT_KEY`, or the highest id in `HOURMARK_PII_KEYS`),
    /// so older keys can be retired. Batches are committed as they go: an interrupted run
    /// is simply run again, and a run with nothing to do changes nothing.
    RotatePiiKey {
        /// Values per batch (each batch is one transaction).
        #[arg(long, default_value_t = 500)]
        batch: usize,
    },
    /// Benchmarks only: fill this (non-production) database with a year of history, an
    /// organisation "基准测试种子协会" whose volunteers arrived and left at one activity after
    /// another, written in bulk through the roster import and the scan writer. Needs the
    /// first administrator to exist; refuses a database it has already seeded.
    SeedBenchmark {
        /// Volunteers to register.
        #[arg(long, default_value_t = 1_000_000)]
        volunteers: usize,
        /// Accepted scans to write (an arrival and a departure per volunteer and activity).
        #[arg(long, default_value_t = 10_000_000)]
        scans: usize,
        /// Volunteers at each activity.
        #[arg(long, default_value_t = 2_000)]
        per_activity: usize,
        /// Also finalise the last activity, so its sessions stand in publicity today (the
        /// public board then has a full activity to show).
        #[arg(long)]
        publish: bool,
        /// Also finalise every activity the day after it, record their sessions in the
        /// register (the scheduled job's path) and send them in one report batch: a
        /// register to export (a million entries with the defaults' 2 000 000 scans).
        #[arg(long)]
        register: bool,
    },
    /// SQLite only: write a consistent copy of the database to FILE (a new file), safe
    /// while the server runs. PostgreSQL: see the README (pg_dump, point-in-time recovery).
    Backup {
        /// The backup file to create; an existing file is never overwritten.
        file: std::path::PathBuf,
    },
    /// SQLite only: restore the backup FILE as the configured database, then check its
    /// register. The database must not exist unless `--force` is given (stop every server
    /// on it first).
    Restore {
        /// A backup written by `hourmark backup`.
        file: std::path::PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        force: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load()?;
    hourmark_server::logging::init(&config.log, config.log_format, std::io::stdout)?;

    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            let store = hourmark_core::store::connect(&config.database_url).await?;
            store.migrate().await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::VerifyRegister => verify_register(&config).await,
        Command::VerifyCertificate { file, public_key } => verify_certificate(&config, &file, public_key.as_deref()),
        Command::CertificatePublicKey => {
            let Some(key) = config.certificate_key.as_ref() else {
                anyhow::bail!("HOURMARK_CERTIFICATE_KEY is not set: there is no lasting certificate key to print");
            };
            let signer =
                hourmark_core::certificates::CertificateSigner::from_base64(&config.certificate_key_id, &key.0)
                    .map_err(|e| anyhow::anyhow!("HOURMARK_CERTIFICATE_KEY: {e}"))?;
            println!("key id {}\npublic key {}", signer.key_id(), signer.public_key_base64());
            Ok(())
        }
        Command::Backup { file } => {
            refuse(hourmark_core::store::backup::backup_sqlite(&config.database_url, &file).await);
            println!("backed up to {}", file.display());
            Ok(())
        }
        Command::Restore { file, force } => {
            let restored =
                refuse(hourmark_core::store::backup::restore_sqlite(&file, &config.database_url, force).await);
            println!("restored {} as {}", file.display(), restored.display());
            verify_register(&config).await
        }
        Command::SeedBenchmark { volunteers, scans, per_activity, publish, register } => {
            let hourmark = hourmark_server::build(&config, Arc::new(SystemClock)).await?;
            let plan = hourmark_core::seed::SeedPlan { volunteers, scans, per_activity, publish, register };
            let started = std::time::Instant::now();
            let progress = |step: &str| eprintln!("{:>7.1} s  {step}", started.elapsed().as_secs_f64());
            let seeded = hourmark.seed_benchmark(plan, &progress).await?;
            println!(
                "seeded organisation {}: {} volunteers, {} activities (the last, {}, is full), {} scans, \
                 {} entries in publicity, {} recorded in the register (batch {}) in {:.0} s",
                seeded.organisation_id,
                seeded.volunteers,
                seeded.activities,
                seeded.last_activity_id,
                seeded.scans,
                seeded.published,
                seeded.recorded,
                seeded.batch_id.map_or_else(|| "none".to_owned(), |id| id.to_string()),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::RotatePiiKey { batch } => {
            let hourmark = hourmark_server::build(&config, Arc::new(SystemClock)).await?;
            let resealed = hourmark.reseal_personal_data(batch, None).await?;
            println!("re-sealed {resealed} values; every sealed value is now under the current key");
            Ok(())
        }
        Command::Serve => {
            let hourmark = hourmark_server::build(&config, Arc::new(SystemClock)).await?;
            // Only here, not in `build`: the other commands may run beside a live server.
            hourmark.recover_roster_imports().await?;
            let preset = config.bootstrap_token.as_ref().map(|s| s.0.as_str());
            if let Some(token) = hourmark.issue_bootstrap_token(preset).await? {
                // Printed, not logged: it is a one-time secret for the person starting the server.
                println!(
                    "\nNo administrator exists yet. Create the first one with this one-time token:\n\n  \
                     curl -X POST http://{}/api/v1/bootstrap -H 'content-type: application/json' \\\n    \
                     -d '{{\"token\":\"{token}\",\"name\":\"Your Name\",\"login\":\"admin\"}}'\n\n\
                     then open the invite \"url\" it answers with in a browser to enrol your passkey.\n",
                    config.listen
                );
            }
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {} (set HOURMARK_LISTEN)", config.listen))?;
            tracing::info!(address = %config.listen, database = %config.database_url.split(':').next().unwrap_or(""),
                redis = config.redis_url.is_some(), "Hourmark is listening; API docs at /docs");
            if config.job_interval_secs > 0 {
                tokio::spawn(hourmark_server::run_jobs(
                    hourmark.clone(),
                    std::time::Duration::from_secs(config.job_interval_secs),
                ));
            }
            let grace = std::time::Duration::from_secs(config.shutdown_grace_secs);
            hourmark_server::serve_within(hourmark, listener, hourmark_server::shutdown_signal(), grace).await?;
            tracing::info!("stopped");
            Ok(())
        }
    }
}

/// Checks the register's hash chain and reports it; exits with code 1 if a link fails.
async fn verify_register(config: &Config) -> anyhow::Result<()> {
    let hourmark = hourmark_server::build(config, Arc::new(SystemClock)).await?;
    let check = hourmark.verify_register().await?;
    if let Some(seq) = check.first_broken {
        println!(
            "register BROKEN at entry {seq}: its content, hash or link to entry {} does not hold \
             ({} entries read)",
            seq - 1,
            check.entries
        );
    }
    if check.recorded_without_entry > 0 {
        println!(
            "register INCOMPLETE: {} publicity entries are marked recorded but are not in it \
             (entries removed from its end?)",
            check.recorded_without_entry
        );
    }
    if !check.holds() {
        std::process::exit(1);
    }
    println!("register intact: {} entries, every link holds", check.entries);
    Ok(())
}

/// Checks a certificate PDF's embedded signed content; exits with code 1 if it fails.
fn verify_certificate(config: &Config, file: &std::path::Path, public_key: Option<&str>) -> anyhow::Result<()> {
    use data_encoding::BASE64;
    let public = match (public_key, &config.certificate_key) {
        (Some(key), _) => BASE64.decode(key.trim().as_bytes()).context("--public-key is not base64")?,
        (None, Some(key)) => {
            let signer =
                hourmark_core::certificates::CertificateSigner::from_base64(&config.certificate_key_id, &key.0)
                    .map_err(|e| anyhow::anyhow!("HOURMARK_CERTIFICATE_KEY: {e}"))?;
            BASE64.decode(signer.public_key_base64().as_bytes()).context("public key")?
        }
        (None, None) => anyhow::bail!("give --public-key, or set HOURMARK_CERTIFICATE_KEY"),
    };
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let Some(signed) = hourmark_server::certificate_pdf::extract_payload(&bytes) else {
        println!("{}: TAMPERED or not a Hourmark certificate: no signed content found", file.display());
        std::process::exit(1);
    };
    match hourmark_core::certificates::verify_signed(&signed, &public) {
        Ok(content) => {
            println!(
                "{}: valid: certificate {} issued {} by {} to {} ({}), {} minutes ({} hours), key {}",
                file.display(),
                content.number,
                content.issued_on,
                content.issuer.name,
                content.volunteer_name,
                content.volunteer_number,
                content.total_minutes,
                content.total_hours(),
                content.key_id
            );
            println!("online state (revoked or superseded since?): the verification page of {}", content.number);
            Ok(())
        }
        Err(reason) => {
            println!("{}: TAMPERED: {reason}", file.display());
            std::process::exit(1);
        }
    }
}

/// The value, or the refusal's message on standard error and exit code 2: a refused
/// backup or restore has changed nothing, and says what to do instead.
fn refuse<T>(result: Result<T, hourmark_core::store::backup::BackupError>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => {
            eprintln!("hourmark: {e}");
            std::process::exit(2);
        }
    }
}
