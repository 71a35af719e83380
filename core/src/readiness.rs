//! Whether this instance can serve traffic (`GET /readyz`), as opposed to whether the
//! process is alive (`/healthz`): a load balancer sends requests only to ready instances,
//! and an instance whose database is behind this build's migrations, or whose cache is
//! gone, would answer most requests with errors.

use std::time::Duration;

use crate::error::{CoreError, ErrorCode};
use crate::hourmark::Hourmark;

/// How long each check may take: a probe that hangs is as bad as one that fails, and
/// probes are usually given a second or two.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

impl Hourmark {
    /// `Ok` when the database answers with every migration this build knows applied and
    /// the cache answers; otherwise an `unavailable` refusal naming each part that is not
    /// ready. The underlying errors are logged, never sent: the probe is public.
    pub async fn readiness(&self) -> Result<(), CoreError> {
        let mut not_ready = Vec::new();
        match tokio::time::timeout(CHECK_TIMEOUT, self.store().pending_migrations()).await {
            Ok(Ok(pending)) if pending.is_empty() => {}
            Ok(Ok(pending)) => {
                let versions: Vec<String> = pending.iter().map(i64::to_string).collect();
                not_ready.push(format!("migrations: 数据库尚未应用迁移 {}", versions.join(", ")));
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: the database does not answer");
                not_ready.push("database: 数据库无应答".to_owned());
            }
            Err(_) => {
                tracing::warn!("readiness: the database did not answer in time");
                not_ready.push("database: 数据库应答超时".to_owned());
            }
        }
        match tokio::time::timeout(CHECK_TIMEOUT, self.cache().ping()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: the cache does not answer");
                not_ready.push("cache: 缓存无应答".to_owned());
            }
            Err(_) => {
                tracing::warn!("readiness: the cache did not answer in time");
                not_ready.push("cache: 缓存应答超时".to_owned());
            }
        }
        if not_ready.is_empty() {
            Ok(())
        } else {
            Err(CoreError::refused(ErrorCode::Unavailable, format!("未就绪 — {}", not_ready.join("；"))))
        }
    }
}
