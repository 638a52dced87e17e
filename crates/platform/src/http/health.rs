//! `/healthz` (the process is alive), `/readyz` (its dependencies answer) and the checks behind
//! readiness. `/metrics` is served by the server itself (see [`super::server`] and
//! [`crate::metrics`]).

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use futures::future::BoxFuture;
use serde_json::json;

use crate::db::{self, DbPool};

/// One dependency that must answer for the service to be ready.
pub trait ReadinessCheck: Send + Sync {
    /// The name shown in `/readyz`.
    fn name(&self) -> &'static str;
    /// `Err(reason)` when the dependency does not answer.
    fn check(&self) -> BoxFuture<'_, Result<(), String>>;
}

/// The database answers a query.
pub struct DatabaseCheck(pub DbPool);

impl ReadinessCheck for DatabaseCheck {
    fn name(&self) -> &'static str {
        "database"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { db::ping(&self.0).await.map_err(|e| e.to_string()) })
    }
}

/// A dependency whose state a background task keeps in a flag (the relay sets the broker's).
pub struct FlagCheck {
    name: &'static str,
    flag: Arc<std::sync::atomic::AtomicBool>,
}

impl FlagCheck {
    /// A check that passes while `flag` is true.
    pub fn new(name: &'static str, flag: Arc<std::sync::atomic::AtomicBool>) -> Self {
        Self { name, flag }
    }
}

impl ReadinessCheck for FlagCheck {
    fn name(&self) -> &'static str {
        self.name
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        let up = self.flag.load(std::sync::atomic::Ordering::Relaxed);
        Box::pin(async move { if up { Ok(()) } else { Err("not connected".to_owned()) } })
    }
}

/// The readiness checks of one service, stored as app data.
#[derive(Clone, Default)]
pub struct ReadinessChecks(pub Vec<Arc<dyn ReadinessCheck>>);

/// `GET /healthz`.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /readyz`: 200 when every check passes, 503 naming the failures otherwise.
pub async fn readyz(checks: web::Data<ReadinessChecks>) -> HttpResponse {
    let timeout = std::time::Duration::from_secs(3);
    let results = futures::future::join_all(checks.0.iter().map(|check| async move {
        let outcome = match tokio::time::timeout(timeout, check.check()).await {
            Ok(Ok(())) => "ok".to_owned(),
            Ok(Err(reason)) => {
                tracing::warn!(check = check.name(), %reason, "readiness check failed");
                "unavailable".to_owned()
            }
            Err(_) => "timeout".to_owned(),
        };
        (check.name(), outcome)
    }))
    .await;
    let ready = results.iter().all(|(_, outcome)| outcome == "ok");
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "checks": results.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
    });
    if ready { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}
