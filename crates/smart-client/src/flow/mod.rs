//! Every protocol operation as a pure step: it yields the next `http::Request`, consumes the
//! `http::Response`, and ends in the typed result or error. No socket, no runtime, no clock
//! of its own: the blocking [`crate::SmartClient`], the async `AsyncSmartClient` and a
//! caller's own HTTP stack all drive the same steps, so all apply the same policy.

mod fetch;

use core::fmt;
use core::future::Future;

pub(crate) use fetch::Fetch;

use crate::error::ClientError;
use crate::transport::TransportError;

/// What a flow wants next: a request sent, or nothing because it is done.
#[derive(Debug)]
#[must_use]
#[expect(
    clippy::large_enum_variant,
    reason = "a step is moved once per request; boxing would cost an allocation for nothing"
)]
pub enum Step<T> {
    /// Send this request and hand the answer (or the transport error) to [`Flow::resume`].
    Send(http::Request<Vec<u8>>),
    /// The flow is finished with this result.
    Done(T),
}

/// The continuation of a flow once a fetch has its response.
type Continuation<T> =
    Box<dyn FnOnce(http::Response<Vec<u8>>) -> Result<Next<T>, ClientError> + Send>;

/// The internal form of a flow: done, or one fetch and what to do with its answer.
pub(crate) enum Next<T> {
    /// Finished.
    Done(T),
    /// One request (with its redirect policy), then the continuation. Boxed, so that a flow
    /// and the futures that hold one stay small (a finished flow moves by value).
    Fetch(Box<Fetch>, Continuation<T>),
}

impl<T: Send + 'static> Next<T> {
    /// A fetch whose response `then` turns into the rest of the flow.
    pub(crate) fn fetch(
        fetch: Fetch,
        then: impl FnOnce(http::Response<Vec<u8>>) -> Result<Next<T>, ClientError> + Send + 'static,
    ) -> Self {
        Self::Fetch(Box::new(fetch), Box::new(then))
    }

    /// Runs `then` on this flow's result, once it has one.
    pub(crate) fn and_then<U: Send + 'static>(
        self,
        then: impl FnOnce(T) -> Result<Next<U>, ClientError> + Send + 'static,
    ) -> Result<Next<U>, ClientError> {
        match self {
            Self::Done(value) => then(value),
            Self::Fetch(fetch, first) => Ok(Next::Fetch(
                fetch,
                Box::new(move |response| first(response)?.and_then(then)),
            )),
        }
    }

    /// Maps this flow's result.
    pub(crate) fn map<U: Send + 'static>(
        self,
        map: impl FnOnce(T) -> Result<U, ClientError> + Send + 'static,
    ) -> Result<Next<U>, ClientError> {
        self.and_then(move |value| map(value).map(Next::Done))
    }
}

/// One protocol operation, driven by any HTTP stack: call [`Flow::start`], send each
/// [`Step::Send`] request and give its answer to [`Flow::resume`], until [`Step::Done`].
///
/// Redirects, the body limit, the HTTPS rule and every protocol check happen inside the flow;
/// the driver only moves bytes. [`Flow::run_with`] and [`Flow::run_async`] are those loops.
///
/// ```
/// use smart_client::{ClientConfig, ClientType, SmartFlows, Step, TransportError};
///
/// let config = ClientConfig::builder("https://ehr.example/fhir").build()?;
/// let flows = SmartFlows::new(config, ClientType::Public)?;
///
/// // Any HTTP stack: here a closure that answers the discovery GET itself.
/// let send = |request: http::Request<Vec<u8>>| -> Result<http::Response<Vec<u8>>, TransportError> {
///     assert_eq!(request.uri(), "https://ehr.example/fhir/.well-known/smart-configuration");
///     let body = br#"{"authorization_endpoint": "https://ehr.example/auth",
///                     "token_endpoint": "https://ehr.example/token",
///                     "capabilities": ["client-public"],
///                     "code_challenge_methods_supported": ["S256"]}"#;
///     Ok(http::Response::builder().status(200).body(body.to_vec()).expect("static response"))
/// };
/// let configuration = flows.discover().run_with(send)?;
/// assert_eq!(configuration.token_endpoint().map(|url| url.as_str()), Some("https://ehr.example/token"));
///
/// // The same flow step by step, as an event loop or a wasm `fetch` would drive it.
/// let mut flow = flows.token_endpoint(); // cached now: done without a request
/// match flow.start()? {
///     Step::Done(url) => assert_eq!(url.as_str(), "https://ehr.example/token"),
///     Step::Send(_) => unreachable!("the configuration is cached"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a flow does nothing until it is driven"]
pub struct Flow<T> {
    state: State<T>,
}

enum State<T> {
    /// Not started yet.
    Ready(Result<Next<T>, ClientError>),
    /// A request is out; its answer goes to the fetch, then to the continuation.
    Waiting(Box<Fetch>, Continuation<T>),
    /// Done, failed, or poisoned by a call out of order.
    Finished,
}

impl<T> fmt::Debug for Flow<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Ready(_) => "ready",
            State::Waiting(..) => "waiting for an answer",
            State::Finished => "finished",
        };
        f.debug_struct("Flow").field("state", &state).finish()
    }
}

impl<T: Send + 'static> Flow<T> {
    pub(crate) fn new(next: Result<Next<T>, ClientError>) -> Self {
        Self {
            state: State::Ready(next),
        }
    }

    /// The first step: a request to send, or the result when nothing needs the network
    /// (a cached discovery document, a configured endpoint).
    ///
    /// # Errors
    ///
    /// The flow's own errors (a missing setting, for example), and
    /// [`ClientError::FlowOutOfOrder`] when the flow was already started.
    pub fn start(&mut self) -> Result<Step<T>, ClientError> {
        match core::mem::replace(&mut self.state, State::Finished) {
            State::Ready(next) => self.advance(next?),
            State::Waiting(..) | State::Finished => Err(ClientError::FlowOutOfOrder {
                reason: "start was called on a flow that had already started",
            }),
        }
    }

    /// Hands the answer to the last request (or why none came) to the flow and returns the
    /// next step.
    ///
    /// # Errors
    ///
    /// The transport error as [`ClientError::Network`] (or
    /// [`ClientError::ResponseTooLarge`]), every error of the protocol step, and
    /// [`ClientError::FlowOutOfOrder`] when no request is waiting for an answer.
    pub fn resume(
        &mut self,
        answer: Result<http::Response<Vec<u8>>, TransportError>,
    ) -> Result<Step<T>, ClientError> {
        let State::Waiting(mut fetch, then) = core::mem::replace(&mut self.state, State::Finished)
        else {
            return Err(ClientError::FlowOutOfOrder {
                reason: "resume was called on a flow that is not waiting for an answer",
            });
        };
        match fetch.answer(answer)? {
            fetch::Outcome::Redirect(request) => {
                self.state = State::Waiting(fetch, then);
                Ok(Step::Send(request))
            }
            fetch::Outcome::Response(response) => self.advance(then(response)?),
        }
    }

    fn advance(&mut self, next: Next<T>) -> Result<Step<T>, ClientError> {
        match next {
            Next::Done(value) => Ok(Step::Done(value)),
            Next::Fetch(mut fetch, then) => {
                let request = fetch.take_request()?;
                self.state = State::Waiting(fetch, then);
                Ok(Step::Send(request))
            }
        }
    }

    /// Drives the flow to its end with a blocking `send` (any HTTP stack, or a closure).
    ///
    /// # Errors
    ///
    /// As [`Flow::start`] and [`Flow::resume`].
    pub fn run_with(
        mut self,
        mut send: impl FnMut(http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, TransportError>,
    ) -> Result<T, ClientError> {
        let mut step = self.start()?;
        loop {
            match step {
                Step::Done(value) => return Ok(value),
                Step::Send(request) => step = self.resume(send(request))?,
            }
        }
    }

    /// Drives the flow to its end with an async `send`. The future is `Send` when `send`'s
    /// futures are.
    ///
    /// # Errors
    ///
    /// As [`Flow::start`] and [`Flow::resume`].
    pub async fn run_async<F, Fut>(mut self, mut send: F) -> Result<T, ClientError>
    where
        F: FnMut(http::Request<Vec<u8>>) -> Fut,
        Fut: Future<Output = Result<http::Response<Vec<u8>>, TransportError>>,
    {
        let mut step = self.start()?;
        loop {
            match step {
                Step::Done(value) => return Ok(value),
                Step::Send(request) => step = self.resume(send(request).await)?,
            }
        }
    }
}
