//! Leader election on a `coordination.k8s.io/v1` Lease, so two operator replicas are safe: only
//! the holder reconciles. The holder renews every `renew`; another replica takes the Lease only
//! once it has gone unrenewed for `duration`. Every write carries the resourceVersion it read,
//! so two candidates cannot both win. A leader that fails to renew stops reconciling (the
//! process exits and restarts as a candidate) before anyone else can take over.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
}

impl Elector {
    pub fn new(api: Api<Lease>, name: &str, identity: &str, duration: Duration) -> Self {
        Self {
            api,
            name: name.into(),
            identity: identity.into(),
            duration,
        }
    }

    fn lease(&self, previous: Option<&Lease>, now: Timestamp) -> Lease {
        let mut lease = previous.cloned().unwrap_or_default();
        lease.metadata.name = Some(self.name.clone());
        let spec = lease.spec.get_or_insert_with(Default::default);
        let taking = spec.holder_identity.as_deref() != Some(&self.identity);
        if taking {
            spec.acquire_time = Some(MicroTime(now));
            spec.lease_transitions =
                Some(spec.lease_transitions.unwrap_or(0) + i32::from(previous.is_some()));
        }
        spec.holder_identity = Some(self.identity.clone());
        spec.lease_duration_seconds = Some(self.duration.as_secs() as i32);
        spec.renew_time = Some(MicroTime(now));
        lease
    }

    /// One round: whether this replica holds the Lease afterwards.
    pub async fn try_acquire(&self, now: Timestamp) -> Result<bool, kube::Error> {
        let Some(current) = self.api.get_opt(&self.name).await? else {
            return match self
                .api
                .create(&PostParams::default(), &self.lease(None, now))
                .await
            {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = current.spec.clone().unwrap_or_default();
        let mine = spec.holder_identity.as_deref() == Some(&self.identity);
        let expired = match (spec.renew_time, spec.lease_duration_seconds) {
            (Some(MicroTime(renewed)), Some(secs)) => {
                renewed + std::time::Duration::from_secs(secs.max(0) as u64) < now
            }
            _ => true,
        };
        if !mine && !expired {
            return Ok(false);
        }
        // `current` carries its resourceVersion: a concurrent writer makes this a 409.
        match self
            .api
            .replace(
                &self.name,
                &PostParams::default(),
                &self.lease(Some(&current), now),
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Waits until this replica leads; then keeps renewing, and cancels `lost` if it cannot.
    pub async fn lead(
        self,
        renew: Duration,
        shutdown: CancellationToken,
    ) -> Option<CancellationToken> {
        loop {
            match self.try_acquire(Timestamp::now()).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "leader election"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                _ = tokio::time::sleep(renew) => {}
            }
        }
        tracing::info!(identity = %self.identity, "leading");
        let lost = shutdown.child_token();
        let token = lost.clone();
        tokio::spawn(async move {
            let mut last_renewed = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    _ = token.cancelled() => return,
                    _ = tokio::time::sleep(renew) => {}
                }
                match self.try_acquire(Timestamp::now()).await {
                    Ok(true) => last_renewed = tokio::time::Instant::now(),
                    Ok(false) => {
                        tracing::error!("leadership lost to another replica");
                        token.cancel();
                        return;
                    }
                    Err(e) if last_renewed.elapsed() + renew >= self.duration => {
                        tracing::error!(error = %e, "cannot renew the lease in time; stepping down");
                        token.cancel();
                        return;
                    }
                    Err(e) => tracing::warn!(error = %e, "lease renewal failed; retrying"),
                }
            }
        });
        Some(lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ApiServerVerifier, expect, not_found};
    use serde_json::json;

    const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/kefu/leases/kefu-operator";

    fn elector(name: &str) -> (Elector, ApiServerVerifier) {
        let (service, handle) = tower_test::mock::pair();
        let client = kube::Client::new(service, "kefu");
        let api = Api::namespaced(client, "kefu");
        (
            Elector::new(api, "kefu-operator", name, Duration::from_secs(15)),
            ApiServerVerifier(handle),
        )
    }

    fn lease(holder: &str, renewed: &str) -> serde_json::Value {
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "kefu-operator", "namespace": "kefu", "resourceVersion": "7"},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15, "renewTime": renewed}})
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn the_first_candidate_creates_the_lease() {
        let (e, api) = elector("a");
        let server = api.run(vec![
            expect("GET", LEASE).reply(404, not_found()),
            expect(
                "POST",
                "/apis/coordination.k8s.io/v1/namespaces/kefu/leases?",
            ),
        ]);
        assert!(e.try_acquire(at("2027-01-01T00:00:00Z")).await.unwrap());
        let seen = server.await.unwrap();
        assert_eq!(seen[1].body["spec"]["holderIdentity"], "a");
    }

    #[tokio::test]
    async fn a_fresh_lease_of_another_replica_is_respected_and_an_expired_one_taken() {
        let (e, api) = elector("b");
        let server = api.run(vec![
            expect("GET", LEASE).reply(200, lease("a", "2027-01-01T00:00:00Z")),
            expect("GET", LEASE).reply(200, lease("a", "2027-01-01T00:00:00Z")),
            expect("PUT", LEASE),
        ]);
        assert!(
            !e.try_acquire(at("2027-01-01T00:00:10Z")).await.unwrap(),
            "10 s < 15 s"
        );
        assert!(
            e.try_acquire(at("2027-01-01T00:00:20Z")).await.unwrap(),
            "expired"
        );
        let seen = server.await.unwrap();
        let taken = &seen[2].body;
        assert_eq!(taken["spec"]["holderIdentity"], "b");
        assert_eq!(
            taken["metadata"]["resourceVersion"], "7",
            "optimistic concurrency"
        );
        assert_eq!(taken["spec"]["leaseTransitions"], 1);
    }

    #[tokio::test]
    async fn losing_a_race_is_not_leading() {
        let (e, api) = elector("b");
        let conflict = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409, "message": "conflict"});
        let server = api.run(vec![
            expect("GET", LEASE).reply(200, lease("a", "2026-01-01T00:00:00Z")),
            expect("PUT", LEASE).reply(409, conflict),
        ]);
        assert!(!e.try_acquire(at("2027-01-01T00:00:00Z")).await.unwrap());
        server.await.unwrap();
    }
}
