//! One refresh of a user session, as a sans-I/O state machine: it says what to do next (take
//! the lease, read the store, refresh, save, release) and is told how it went. The blocking
//! and async drivers only carry out its actions, so both follow the same rules:
//!
//! - with a store, refresh only while holding the lease, after reading the store again (another
//!   instance may have refreshed already: then its tokens are used);
//! - never send a refresh token the server already answered: on `invalid_grant`, read the
//!   store again and use a newer refresh token if another instance saved one, else end the
//!   session (and remove it from the store, so no other instance sends the dead token again);
//! - save with compare-and-swap on the version read and the lease's fencing value; tokens
//!   that could not be saved are kept in memory and saved by the next refresh.

use std::time::{Duration, Instant, SystemTime};

use smart_client::ClientError;
use smart_core::ct_eq;
use smart_token::scope::ScopeSet;
use smart_token::{ErrorCode, RefreshToken, TokenError, TokenResponse};

use crate::error::{SessionError, StoreError};
use crate::events::Events;
use crate::lifecycle::{FlightEnd, Held, Ticket};
use crate::record::Record;
use crate::store::{CasOutcome, Lease, Versioned};

/// What the driver does next.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one value per step, moved once: boxing would only add an allocation"
)]
pub(crate) enum Action {
    /// `acquire_lease(key, ttl)`, answered with [`Input::Lease`].
    AcquireLease(Duration),
    /// Sleep, answered with [`Input::Slept`].
    Sleep(Duration),
    /// `load(key)`, answered with [`Input::Loaded`].
    Load,
    /// The refresh request, answered with [`Input::Refreshed`] (and the clock's time when it
    /// was sent).
    Refresh {
        refresh_token: RefreshToken,
        scope: Option<ScopeSet>,
    },
    /// `compare_and_swap(key, expected, value, fence, None)`, answered with [`Input::Saved`].
    Save {
        expected: Option<u64>,
        value: Vec<u8>,
        fence: Option<u64>,
    },
    /// `delete(key, Some(expected))`, answered with [`Input::Deleted`].
    Delete(u64),
    /// `release_lease(lease)`, answered with [`Input::Released`].
    Release(Lease),
    /// The flight is over.
    Done(FlightEnd),
}

/// How the last action went.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one value per step, moved once: boxing would only add an allocation"
)]
pub(crate) enum Input {
    Start,
    Lease(Result<Option<Lease>, StoreError>),
    Slept,
    Loaded(Result<Option<Versioned>, StoreError>),
    Refreshed {
        result: Result<TokenResponse, ClientError>,
        requested_at: SystemTime,
    },
    Saved(Result<CasOutcome, StoreError>),
    Deleted(Result<bool, StoreError>),
    Released(Result<bool, StoreError>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    /// Waiting for the lease; `peeked`: the store was read since the last try.
    Leasing,
    /// Read the store while another instance holds the lease.
    Peeking,
    /// Read the store under the lease, before refreshing.
    Loading,
    Refreshing,
    Saving,
    /// Read the store again after `invalid_grant`.
    Rereading,
    Deleting,
    Releasing,
    Done,
}

/// The settings a refresh needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) with_store: bool,
    pub(crate) lease_ttl: Duration,
    pub(crate) lease_wait: Duration,
    pub(crate) buffer: Duration,
    pub(crate) default_lifetime: Duration,
}

/// One refresh in progress.
#[derive(Debug)]
pub(crate) struct Refresher {
    settings: Settings,
    phase: Phase,
    /// The tokens refreshed from (replaced when the store has newer ones).
    base: Option<Held>,
    scope: Option<ScopeSet>,
    forced: Option<smart_token::AccessToken>,
    lease: Option<Lease>,
    started: Instant,
    backoff: Duration,
    retried: bool,
    /// Tokens obtained by this flight.
    obtained: Option<Held>,
    /// What the flight ends with, once decided (returned after the lease is released).
    end: Option<FlightEnd>,
    save_deadline: Option<Instant>,
}

fn is_invalid_grant(error: &ClientError) -> bool {
    matches!(error, ClientError::Token(TokenError::OAuth(oauth)) if oauth.error() == Some(&ErrorCode::InvalidGrant))
}

impl Refresher {
    pub(crate) fn new(settings: Settings, ticket: &Ticket) -> Self {
        Self {
            settings,
            phase: Phase::Start,
            base: ticket.base.clone(),
            scope: ticket.scope.clone(),
            forced: ticket.forced.clone(),
            lease: None,
            started: Instant::now(),
            backoff: Duration::from_millis(20),
            retried: false,
            obtained: None,
            end: None,
            save_deadline: None,
        }
    }

    /// Whether `held` can be used at `now` without refreshing it.
    fn usable(&self, held: &Held, now: SystemTime) -> bool {
        let fresh = now < held.record.refresh_at(self.settings.buffer, Duration::ZERO);
        let not_rejected = self.forced.as_ref().is_none_or(|rejected| {
            !ct_eq(
                rejected.expose_secret().as_bytes(),
                held.record.token.access_token().expose_secret().as_bytes(),
            )
        });
        fresh && not_rejected && self.scope.is_none()
    }

    fn base_version(&self) -> Option<u64> {
        self.base.as_ref().and_then(|held| held.version)
    }

    /// Decides to end with `end`: releases the lease first when one is held.
    fn finish(&mut self, end: FlightEnd) -> Action {
        if let Some(lease) = self.lease.take() {
            self.end = Some(end);
            self.phase = Phase::Releasing;
            return Action::Release(lease);
        }
        self.phase = Phase::Done;
        Action::Done(end)
    }

    fn fail(&mut self, error: SessionError, held: Option<Held>) -> Action {
        self.finish(FlightEnd {
            result: Err(error),
            held,
        })
    }

    fn refresh(&mut self, events: &Events) -> Action {
        let Some(refresh_token) = self
            .base
            .as_ref()
            .and_then(|held| held.record.token.refresh_token().cloned())
        else {
            return self.fail(SessionError::NoRefreshToken, None);
        };
        events.refresh_started();
        self.phase = Phase::Refreshing;
        let scope = self
            .scope
            .clone()
            .or_else(|| self.base.as_ref().and_then(|b| b.record.narrowed.clone()));
        Action::Refresh {
            refresh_token,
            scope,
        }
    }

    fn save(&mut self, held: &Held) -> Action {
        match held.record.to_bytes() {
            Ok(value) => {
                self.phase = Phase::Saving;
                self.save_deadline
                    .get_or_insert_with(|| Instant::now() + self.settings.lease_ttl / 2);
                Action::Save {
                    expected: held.version,
                    value,
                    fence: self.lease.as_ref().map(|lease| lease.fence),
                }
            }
            Err(error) => {
                let kept = Held {
                    saved: false,
                    ..held.clone()
                };
                self.fail(error.into(), Some(kept))
            }
        }
    }

    /// Reads the store's entry: `Ok(None)` when it is gone.
    fn decode(loaded: Option<Versioned>) -> Result<Option<Held>, StoreError> {
        loaded
            .map(|versioned| {
                Record::from_bytes(versioned.value.expose_secret()).map(|record| Held {
                    record,
                    version: Some(versioned.version),
                    saved: true,
                })
            })
            .transpose()
    }

    /// The next action, given how the last one went and the session clock's `now`.
    #[expect(
        clippy::too_many_lines,
        reason = "one match over the phases reads better than the same split across functions"
    )]
    pub(crate) fn next(&mut self, input: Input, now: SystemTime, events: &Events) -> Action {
        match (self.phase, input) {
            (Phase::Start, Input::Start) => {
                if self.settings.with_store {
                    self.phase = Phase::Leasing;
                    Action::AcquireLease(self.settings.lease_ttl)
                } else {
                    self.refresh(events)
                }
            }
            (Phase::Leasing, Input::Lease(Ok(Some(lease)))) => {
                events.lease_taken(lease.fence);
                self.lease = Some(lease);
                self.phase = Phase::Loading;
                Action::Load
            }
            (Phase::Leasing, Input::Lease(Ok(None))) => {
                if self.started.elapsed() >= self.settings.lease_wait {
                    let waited = self.started.elapsed();
                    return self.fail(SessionError::LeaseBusy { waited }, None);
                }
                events.lease_busy();
                self.phase = Phase::Peeking;
                Action::Load
            }
            (Phase::Leasing, Input::Lease(Err(error))) => self.fail(error.into(), None),
            (Phase::Peeking, Input::Loaded(loaded)) => match loaded.map(Self::decode) {
                Ok(Ok(Some(stored))) => {
                    if stored.version != self.base_version() && self.usable(&stored, now) {
                        events.adopted(stored.version);
                        return self.finish(FlightEnd {
                            result: Ok(()),
                            held: Some(stored),
                        });
                    }
                    self.phase = Phase::Start;
                    let backoff = self.backoff;
                    self.backoff = (self.backoff * 2).min(Duration::from_millis(500));
                    Action::Sleep(backoff)
                }
                Ok(Ok(None)) => self.fail(SessionError::Removed, None),
                Ok(Err(error)) | Err(error) => self.fail(error.into(), None),
            },
            (Phase::Start, Input::Slept) => {
                self.phase = Phase::Leasing;
                Action::AcquireLease(self.settings.lease_ttl)
            }
            (Phase::Loading, Input::Loaded(loaded)) => match loaded.map(Self::decode) {
                Ok(Ok(Some(stored))) => {
                    let ours = self.base.as_ref();
                    if stored.version == self.base_version() {
                        // Ours is the latest: an unsaved one is saved first if still usable.
                        if let Some(base) = ours.filter(|b| !b.saved).cloned()
                            && self.usable(&base, now)
                        {
                            return self.save(&base);
                        }
                    } else if self.usable(&stored, now) {
                        events.adopted(stored.version);
                        return self.finish(FlightEnd {
                            result: Ok(()),
                            held: Some(stored),
                        });
                    } else {
                        // Newer than ours (the store is the source of truth), and due as
                        // well: refresh from it.
                        self.base = Some(stored);
                    }
                    self.refresh(events)
                }
                Ok(Ok(None)) => self.fail(SessionError::Removed, None),
                Ok(Err(error)) | Err(error) => self.fail(error.into(), None),
            },
            (
                Phase::Refreshing,
                Input::Refreshed {
                    result: Ok(token),
                    requested_at,
                },
            ) => {
                let record = Record::new(
                    token,
                    requested_at,
                    self.settings.default_lifetime,
                    self.base.as_ref().map(|held| &held.record),
                    self.scope.as_ref(),
                );
                let held = Held {
                    record,
                    version: self.base_version(),
                    saved: !self.settings.with_store,
                };
                events.refresh_done(self.started.elapsed(), &held.record, now);
                self.obtained = Some(held.clone());
                if self.settings.with_store {
                    self.save(&held)
                } else {
                    self.finish(FlightEnd {
                        result: Ok(()),
                        held: Some(held),
                    })
                }
            }
            (
                Phase::Refreshing,
                Input::Refreshed {
                    result: Err(error), ..
                },
            ) => {
                events.refresh_failed(&error);
                if !is_invalid_grant(&error) {
                    return self.fail(
                        SessionError::Refresh {
                            source: error.into(),
                        },
                        None,
                    );
                }
                if self.settings.with_store && !self.retried {
                    self.retried = true;
                    self.phase = Phase::Rereading;
                    return Action::Load;
                }
                self.end_session()
            }
            (Phase::Rereading, Input::Loaded(loaded)) => match loaded.map(Self::decode) {
                Ok(Ok(Some(stored))) => {
                    let newer_token = match (
                        stored.record.token.refresh_token(),
                        self.base
                            .as_ref()
                            .and_then(|b| b.record.token.refresh_token()),
                    ) {
                        (Some(theirs), Some(ours)) => !ct_eq(
                            theirs.expose_secret().as_bytes(),
                            ours.expose_secret().as_bytes(),
                        ),
                        (Some(_), None) => true,
                        (None, _) => false,
                    };
                    if stored.version != self.base_version() && newer_token {
                        events.adopted(stored.version);
                        if self.usable(&stored, now) {
                            return self.finish(FlightEnd {
                                result: Ok(()),
                                held: Some(stored),
                            });
                        }
                        self.base = Some(stored);
                        return self.refresh(events);
                    }
                    self.end_session()
                }
                Ok(Ok(None)) => self.fail(SessionError::Removed, None),
                // The store is down: the refresh token is dead, but a newer one may be
                // stored; end nothing and let the next call read the store again.
                Ok(Err(error)) | Err(error) => self.fail(error.into(), None),
            },
            (Phase::Saving, Input::Saved(Ok(CasOutcome::Swapped { version }))) => {
                let held = self
                    .obtained
                    .take()
                    .or_else(|| self.base.clone())
                    .map(|h| Held {
                        version: Some(version),
                        saved: true,
                        ..h
                    });
                self.finish(FlightEnd {
                    result: Ok(()),
                    held,
                })
            }
            (Phase::Saving, Input::Saved(Ok(CasOutcome::Conflict { .. } | CasOutcome::Fenced))) => {
                events.lease_lost();
                let kept = self.unsaved();
                self.fail(SessionError::LeaseLost, kept)
            }
            (Phase::Saving, Input::Saved(Err(error))) => {
                if self
                    .save_deadline
                    .is_some_and(|deadline| Instant::now() < deadline)
                {
                    events.save_retry(&error);
                    self.phase = Phase::Saving;
                    return Action::Sleep(Duration::from_millis(100));
                }
                let kept = self.unsaved();
                self.fail(error.into(), kept)
            }
            (Phase::Saving, Input::Slept) => {
                let held = self.obtained.clone().or_else(|| self.base.clone());
                match held {
                    Some(held) => self.save(&held),
                    None => self.fail(SessionError::Removed, None),
                }
            }
            (Phase::Deleting, Input::Deleted(result)) => {
                if let Err(error) = result {
                    events.store_error(&error);
                }
                self.fail(SessionError::ReauthorizationRequired, None)
            }
            (Phase::Releasing, Input::Released(result)) => {
                match result {
                    Ok(true) => {}
                    Ok(false) => events.lease_lost(),
                    Err(error) => events.store_error(&error),
                }
                self.phase = Phase::Done;
                Action::Done(self.end.take().unwrap_or(FlightEnd {
                    result: Err(SessionError::LeaseLost),
                    held: None,
                }))
            }
            (phase, input) => {
                // Every driver answers each action with its input; anything else is a bug
                // in a driver. End the flight rather than panic.
                log::error!(
                    target: "smart_session",
                    "refresh state machine got {} in phase {phase:?}",
                    input_name(&input)
                );
                self.phase = Phase::Done;
                Action::Done(FlightEnd {
                    result: Err(SessionError::LeaseLost),
                    held: self.unsaved(),
                })
            }
        }
    }

    /// The tokens this flight obtained, marked unsaved.
    fn unsaved(&mut self) -> Option<Held> {
        self.obtained.take().map(|held| Held {
            saved: false,
            ..held
        })
    }

    /// `invalid_grant` with no newer refresh token: the session is over. With a store, its
    /// entry is removed (under the lease, and only if unchanged) so no instance sends the dead
    /// refresh token again.
    fn end_session(&mut self) -> Action {
        match (self.settings.with_store, self.base_version()) {
            (true, Some(version)) if self.lease.is_some() => {
                self.phase = Phase::Deleting;
                Action::Delete(version)
            }
            _ => self.fail(SessionError::ReauthorizationRequired, None),
        }
    }
}

fn input_name(input: &Input) -> &'static str {
    match input {
        Input::Start => "start",
        Input::Lease(_) => "a lease answer",
        Input::Slept => "a wake-up",
        Input::Loaded(_) => "a load answer",
        Input::Refreshed { .. } => "a refresh answer",
        Input::Saved(_) => "a save answer",
        Input::Deleted(_) => "a delete answer",
        Input::Released(_) => "a release answer",
    }
}
