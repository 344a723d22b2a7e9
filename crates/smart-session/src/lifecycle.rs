//! The decision core: given the time and what a session (or one scope set of a token cache)
//! holds, what a caller does — use the token, lead a refresh, wait for the one in flight, or
//! fail. Pure: no clock, no lock, no I/O. The blocking and async drivers wrap it in their
//! lock and wake their waiters when a flight ends.

use std::time::{Duration, SystemTime};

use smart_core::ct_eq;
use smart_token::AccessToken;
use smart_token::scope::ScopeSet;

use crate::config::{Jitter, SessionConfig};
use crate::error::SessionError;
use crate::record::Record;

/// Tokens as a flight leaves them: the record, its version in the store (if stored), and
/// whether the store has it (`false`: obtained, but the save failed; saved by a later flight).
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub(crate) record: Record,
    pub(crate) version: Option<u64>,
    pub(crate) saved: bool,
}

/// What one flight ended with.
#[derive(Debug)]
pub(crate) struct FlightEnd {
    /// `Ok`: the flight's tokens are in `held`. `Err`: its error, for the leader and every
    /// caller that waited.
    pub(crate) result: Result<(), SessionError>,
    /// The tokens to hold from now on, when they changed (also on some errors: tokens
    /// obtained but not saved are kept, so their refresh token is never lost).
    pub(crate) held: Option<Held>,
}

/// Why a refresh is asked for beyond the clock.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Force<'a> {
    /// Only when due.
    No,
    /// The server rejected this access token (a 401): refresh unless it is no longer the
    /// current one.
    Rejected(&'a AccessToken),
    /// Refresh now (a narrower scope was asked for).
    Always,
}

/// What a caller does next.
#[derive(Debug)]
pub(crate) enum Step {
    /// Use this token.
    Ready(AccessToken),
    /// Run a refresh: this caller leads flight `id`, starting from `base`.
    Lead(Box<Ticket>),
    /// Wait until more than `finished` flights have ended, then ask [`Lifecycle::waited`].
    Wait { finished: u64 },
    /// Fail at once.
    Fail(SessionError),
}

/// The leader's ticket: which flight, and the tokens held when it began.
#[derive(Debug)]
pub(crate) struct Ticket {
    pub(crate) id: u64,
    pub(crate) base: Option<Held>,
    pub(crate) scope: Option<ScopeSet>,
    pub(crate) forced: Option<AccessToken>,
}

/// What a waiter learns after its wake-up.
#[derive(Debug)]
pub(crate) enum Waited {
    /// Still in flight: wait on.
    Pending,
    /// The flight ended: its token or its error.
    Finished(Result<AccessToken, SessionError>),
    /// The leader gave up (its task was cancelled or its thread panicked): decide again.
    Retry,
}

#[derive(Debug)]
enum LastFlight {
    Finished(Result<AccessToken, SessionError>),
    Abandoned,
}

#[derive(Debug)]
struct Current {
    held: Held,
    refresh_at: SystemTime,
}

/// The state of one token lineage.
#[derive(Debug)]
pub(crate) struct Lifecycle {
    current: Option<Current>,
    flight: Option<u64>,
    next_id: u64,
    finished: u64,
    last: Option<LastFlight>,
    ended: Option<SessionError>,
    jitter: Jitter,
    buffer: Duration,
    max_jitter: Duration,
}

impl Lifecycle {
    pub(crate) fn new(config: &SessionConfig, held: Option<Held>) -> Self {
        let mut lifecycle = Self {
            current: None,
            flight: None,
            next_id: 1,
            finished: 0,
            last: None,
            ended: None,
            jitter: Jitter::new(config.seed),
            buffer: config.buffer,
            max_jitter: config.get_max_jitter(),
        };
        if let Some(held) = held {
            lifecycle.hold(held);
        }
        lifecycle
    }

    fn hold(&mut self, held: Held) {
        let jitter = self.jitter.draw(self.max_jitter);
        let refresh_at = held.record.refresh_at(self.buffer, jitter);
        self.current = Some(Current { held, refresh_at });
    }

    /// The tokens held now.
    pub(crate) fn held(&self) -> Option<&Held> {
        self.current.as_ref().map(|current| &current.held)
    }

    /// When the held token will be renewed.
    pub(crate) fn refresh_at(&self) -> Option<SystemTime> {
        self.current.as_ref().map(|current| current.refresh_at)
    }

    /// What a caller does at `now`.
    pub(crate) fn decide(&mut self, now: SystemTime, force: Force<'_>) -> Step {
        if let Some(error) = &self.ended {
            return Step::Fail(error.clone());
        }
        if self.flight.is_some() {
            return Step::Wait {
                finished: self.finished,
            };
        }
        let forced = match (&self.current, force) {
            (Some(current), Force::No) if now < current.refresh_at => {
                return Step::Ready(current.held.record.token.access_token().clone());
            }
            (Some(current), Force::Rejected(rejected)) => {
                let held = current.held.record.token.access_token();
                if !ct_eq(
                    held.expose_secret().as_bytes(),
                    rejected.expose_secret().as_bytes(),
                ) && now < current.refresh_at
                {
                    // Already renewed since the caller got the rejected one.
                    return Step::Ready(held.clone());
                }
                Some(rejected.clone())
            }
            (None | Some(_), _) => None,
        };
        let id = self.next_id;
        self.next_id += 1;
        self.flight = Some(id);
        Step::Lead(Box::new(Ticket {
            id,
            base: self.held().cloned(),
            scope: None,
            forced,
        }))
    }

    /// Ends flight `id` with `end`; returns what its leader gets.
    pub(crate) fn finish(&mut self, id: u64, end: FlightEnd) -> Result<AccessToken, SessionError> {
        if self.flight != Some(id) {
            // Not ours (cannot happen: only the leader finishes); change nothing.
            return Err(SessionError::LeaseLost);
        }
        self.flight = None;
        self.finished += 1;
        if let Some(held) = end.held {
            self.hold(held);
        }
        let result = match end.result {
            Ok(()) => self
                .held()
                .map(|held| held.record.token.access_token().clone())
                .ok_or(SessionError::Removed),
            Err(error) => {
                if matches!(
                    error,
                    SessionError::ReauthorizationRequired | SessionError::Removed
                ) {
                    self.ended = Some(error.clone());
                }
                Err(error)
            }
        };
        self.last = Some(LastFlight::Finished(result.clone()));
        result
    }

    /// Gives up flight `id` without a result (its leader was cancelled or panicked).
    pub(crate) fn abandon(&mut self, id: u64) {
        if self.flight == Some(id) {
            self.flight = None;
            self.finished += 1;
            self.last = Some(LastFlight::Abandoned);
        }
    }

    /// What a caller that waited for more than `finished` flights to end learns.
    pub(crate) fn waited(&self, finished: u64) -> Waited {
        if self.finished <= finished {
            return Waited::Pending;
        }
        match &self.last {
            Some(LastFlight::Finished(result)) => Waited::Finished(result.clone()),
            Some(LastFlight::Abandoned) | None => Waited::Retry,
        }
    }

    /// Ends the session (logged out): every later call fails with `error`.
    pub(crate) fn end(&mut self, error: SessionError) {
        self.ended = Some(error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smart_core::FixedClock;
    use smart_token::TokenResponse;
    use std::time::UNIX_EPOCH;

    fn held(access: &str, issued: u64, lifetime: u64) -> Held {
        let body = format!(
            r#"{{"access_token":"{access}","token_type":"Bearer","expires_in":{lifetime},"refresh_token":"r"}}"#
        );
        let response = http::Response::builder()
            .status(200)
            .body(body.into_bytes())
            .expect("a response");
        let token = TokenResponse::from_response(&response, &FixedClock::from_unix_seconds(0))
            .expect("a token");
        Held {
            record: Record::new(
                token,
                UNIX_EPOCH + Duration::from_secs(issued),
                Duration::from_secs(300),
                None,
                None,
            ),
            version: None,
            saved: true,
        }
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn config() -> SessionConfig {
        SessionConfig::new()
            .refresh_buffer(Duration::from_secs(60))
            .max_jitter(Duration::ZERO)
    }

    #[test]
    fn fresh_then_due_then_one_leader_and_waiters_get_its_token() {
        let mut life = Lifecycle::new(&config(), Some(held("a", 1000, 300)));
        assert!(
            matches!(life.decide(at(1239), Force::No), Step::Ready(t) if t.expose_secret() == "a")
        );
        let Step::Lead(ticket) = life.decide(at(1240), Force::No) else {
            panic!("due at expiry minus the buffer")
        };
        let Step::Wait { finished } = life.decide(at(1240), Force::No) else {
            panic!("a second caller waits")
        };
        assert!(matches!(life.waited(finished), Waited::Pending));
        let token = life.finish(
            ticket.id,
            FlightEnd {
                result: Ok(()),
                held: Some(held("b", 1240, 300)),
            },
        );
        assert_eq!(token.expect("the new token").expose_secret(), "b");
        assert!(
            matches!(life.waited(finished), Waited::Finished(Ok(t)) if t.expose_secret() == "b")
        );
        assert!(
            matches!(life.decide(at(1241), Force::No), Step::Ready(t) if t.expose_secret() == "b")
        );
    }

    #[test]
    fn errors_reach_the_waiters_and_invalid_grant_ends_the_session() {
        let mut life = Lifecycle::new(&config(), Some(held("a", 0, 300)));
        let Step::Lead(ticket) = life.decide(at(250), Force::No) else {
            panic!("due")
        };
        let Step::Wait { finished } = life.decide(at(250), Force::No) else {
            panic!("waits")
        };
        let _ = life.finish(
            ticket.id,
            FlightEnd {
                result: Err(SessionError::ReauthorizationRequired),
                held: None,
            },
        );
        assert!(matches!(
            life.waited(finished),
            Waited::Finished(Err(SessionError::ReauthorizationRequired))
        ));
        assert!(matches!(
            life.decide(at(0), Force::No),
            Step::Fail(SessionError::ReauthorizationRequired)
        ));
    }

    #[test]
    fn an_abandoned_flight_lets_a_waiter_lead() {
        let mut life = Lifecycle::new(&config(), Some(held("a", 0, 300)));
        let Step::Lead(ticket) = life.decide(at(250), Force::No) else {
            panic!("due")
        };
        let Step::Wait { finished } = life.decide(at(250), Force::No) else {
            panic!("waits")
        };
        life.abandon(ticket.id);
        assert!(matches!(life.waited(finished), Waited::Retry));
        assert!(matches!(life.decide(at(250), Force::No), Step::Lead(_)));
    }

    #[test]
    fn a_rejected_token_forces_one_refresh_only() {
        let mut life = Lifecycle::new(&config(), Some(held("a", 0, 300)));
        let rejected = AccessToken::new("a");
        let Step::Lead(ticket) = life.decide(at(10), Force::Rejected(&rejected)) else {
            panic!("the current token was rejected: refresh")
        };
        assert!(ticket.forced.is_some());
        let _ = life.finish(
            ticket.id,
            FlightEnd {
                result: Ok(()),
                held: Some(held("b", 10, 300)),
            },
        );
        // A second caller that got the same rejected token gets the new one, no refresh.
        assert!(matches!(
            life.decide(at(11), Force::Rejected(&rejected)),
            Step::Ready(t) if t.expose_secret() == "b"
        ));
    }

    #[test]
    fn jitter_moves_the_refresh_later_within_the_buffer() {
        let config = SessionConfig::new().jitter_seed(3);
        let times: Vec<_> = (0..50)
            .map(|_| {
                Lifecycle::new(
                    &config.clone().jitter_seed(rand_seed()),
                    Some(held("a", 0, 300)),
                )
                .refresh_at()
                .expect("held")
            })
            .collect();
        assert!(times.iter().all(|t| *t >= at(240) && *t <= at(270)));
        assert!(times.iter().any(|t| *t != times[0]), "jitter varies");
    }

    fn rand_seed() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }
}
