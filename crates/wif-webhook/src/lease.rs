//! One leader among the webhook's replicas, through a `coordination.k8s.io/v1` Lease, as
//! client-go's leader election does it: the holder renews the Lease every retry period; another
//! replica takes it over only once it has seen the record unchanged for a whole lease duration
//! (by its own clock: no two machines' clocks are compared); a holder that could not renew for
//! two thirds of the duration steps down first, so two leaders never overlap. Every write
//! carries the resourceVersion it read, so of two replicas racing for a free Lease one wins.
//! The decision is [`next_step`] (pure); [`run`] is the loop around the API server.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use tokio::sync::watch;

/// Where the Lease is and who this replica is.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// The Lease's namespace (the webhook's own).
    pub namespace: String,
    /// The Lease's name.
    pub name: String,
    /// This replica's identity (its pod name, made unique).
    pub identity: String,
    /// How long a record unchanged means its holder is gone.
    pub duration: Duration,
    /// How often the Lease is read and renewed.
    pub retry: Duration,
}

impl LeaseConfig {
    /// client-go's defaults: 15 s lease, 2 s retry.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>, identity: impl Into<String>) -> Self {
        LeaseConfig {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            duration: Duration::from_secs(15),
            retry: Duration::from_secs(2),
        }
    }
}

/// What to do with the Lease as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// It does not exist: create it, holding it.
    Create,
    /// This replica holds it: renew it.
    Renew,
    /// Its holder is gone (none named, or the record unchanged for a whole duration): take it.
    TakeOver,
    /// Another replica holds it: wait.
    Wait,
}

/// The step for a Lease held by `holder` (`None`: it does not exist; `Some(None)`: it names
/// no holder), its record unchanged for `unchanged_for` by this replica's clock.
///
/// ```
/// use std::time::Duration;
/// use wif_webhook::lease::{Step, next_step};
/// let lease = Duration::from_secs(15);
/// assert_eq!(next_step(Some(Some("a")), "a", Duration::ZERO, lease), Step::Renew);
/// assert_eq!(next_step(Some(Some("b")), "a", Duration::from_secs(3), lease), Step::Wait);
/// assert_eq!(next_step(Some(Some("b")), "a", Duration::from_secs(16), lease), Step::TakeOver);
/// ```
pub fn next_step(holder: Option<Option<&str>>, me: &str, unchanged_for: Duration, duration: Duration) -> Step {
    match holder {
        None => Step::Create,
        Some(Some(holder)) if holder == me => Step::Renew,
        Some(Some(holder)) if !holder.is_empty() && unchanged_for < duration => Step::Wait,
        Some(_) => Step::TakeOver,
    }
}

/// The record as last seen, and since when (this replica's clock).
struct Observed {
    record: (Option<String>, Option<String>),
    since: Instant,
}

fn spec(me: &str, duration: Duration, transitions: i32, acquired: Option<MicroTime>) -> LeaseSpec {
    let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
    LeaseSpec {
        holder_identity: Some(me.to_owned()),
        lease_duration_seconds: Some(i32::try_from(duration.as_secs()).unwrap_or(i32::MAX)),
        acquire_time: Some(acquired.unwrap_or_else(|| now.clone())),
        renew_time: Some(now),
        lease_transitions: Some(transitions),
        ..LeaseSpec::default()
    }
}

/// One round: read the Lease, take the step; whether this replica holds it afterwards.
async fn round(api: &Api<Lease>, config: &LeaseConfig, observed: &mut Option<Observed>) -> Result<bool, kube::Error> {
    let Some(mut lease) = api.get_opt(&config.name).await? else {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(config.name.clone()),
                namespace: Some(config.namespace.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(spec(&config.identity, config.duration, 0, None)),
        };
        return Ok(api.create(&PostParams::default(), &lease).await.is_ok());
    };
    let current = lease.spec.clone().unwrap_or_default();
    let record = (
        current.holder_identity.clone(),
        current.renew_time.as_ref().map(|t| t.0.to_string()),
    );
    let now = Instant::now();
    let since = match observed {
        Some(seen) if seen.record == record => seen.since,
        _ => now,
    };
    *observed = Some(Observed { record, since });
    let step = next_step(
        Some(current.holder_identity.as_deref()),
        &config.identity,
        now.duration_since(since),
        config.duration,
    );
    let transitions = current.lease_transitions.unwrap_or(0);
    lease.spec = Some(match step {
        Step::Wait => return Ok(false),
        Step::Renew => spec(&config.identity, config.duration, transitions, current.acquire_time),
        Step::TakeOver | Step::Create => spec(&config.identity, config.duration, transitions.saturating_add(1), None),
    });
    // The resourceVersion read rides along: a replica that wrote in between wins, this loses.
    match api.replace(&config.name, &PostParams::default(), &lease).await {
        Ok(_) => {
            if step == Step::TakeOver {
                tracing::info!(lease = %config.name, identity = %config.identity, "took the stranded-pods lease");
            }
            Ok(true)
        }
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(error) => Err(error),
    }
}

/// Holds the Lease whenever it can, saying on `leading` whether it does, until the process
/// ends. A holder that cannot renew for two thirds of the lease duration says it no longer
/// leads before anyone else may take over.
pub async fn run(client: kube::Client, config: LeaseConfig, leading: watch::Sender<bool>) {
    let api: Api<Lease> = Api::namespaced(client, &config.namespace);
    let mut observed = None;
    let mut renewed: Option<Instant> = None;
    let deadline = config.duration.mul_f64(2.0 / 3.0);
    loop {
        // The renewal counts from before it was asked, and a round that does not answer within a
        // third of the lease is no renewal: a slow API server cannot stretch a leadership.
        let asked = Instant::now();
        let holds = match tokio::time::timeout(config.duration / 3, round(&api, &config, &mut observed)).await {
            Ok(Ok(holds)) => holds,
            Ok(Err(error)) => {
                tracing::warn!(%error, lease = %config.name, "cannot read or renew the stranded-pods lease; retrying");
                false
            }
            Err(_) => {
                tracing::warn!(lease = %config.name, "the stranded-pods lease did not answer in time; retrying");
                false
            }
        };
        if holds {
            renewed = Some(asked);
        }
        let leads = renewed.is_some_and(|at| at.elapsed() < deadline);
        if *leading.borrow() != leads {
            tracing::info!(identity = %config.identity, leads, "stranded-pods leadership changed");
            let _ = leading.send(leads);
        }
        if !holds && !leads {
            renewed = None;
        }
        tokio::time::sleep(config.retry).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_taken_only_from_a_holder_gone_for_a_whole_duration() {
        let lease = Duration::from_secs(15);
        assert_eq!(next_step(None, "me", Duration::ZERO, lease), Step::Create);
        assert_eq!(
            next_step(Some(Some("me")), "me", Duration::from_secs(60), lease),
            Step::Renew
        );
        assert_eq!(
            next_step(Some(Some("other")), "me", Duration::from_secs(14), lease),
            Step::Wait
        );
        assert_eq!(next_step(Some(Some("other")), "me", lease, lease), Step::TakeOver);
        // A Lease that names no holder (released) is free at once.
        assert_eq!(next_step(Some(None), "me", Duration::ZERO, lease), Step::TakeOver);
        assert_eq!(next_step(Some(Some("")), "me", Duration::ZERO, lease), Step::TakeOver);
    }
}
