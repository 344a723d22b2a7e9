//! A raw HTTP/1.1 server on loopback that can answer anything: arbitrary bytes, a trickle, a
//! stall, a body cut short, a gigabyte streamed from one small buffer (never held whole).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server thread waits on a silent or vanished client before giving up, so that
/// no server thread outlives a test by much.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// The filler buffer of streamed bodies: the most the server ever holds of one.
const CHUNK: usize = 64 * 1024;

/// What the server sends back on one connection.
pub(crate) enum Answer {
    /// These bytes, exactly (status line, headers and whatever body), then close.
    Raw(Vec<u8>),
    /// A 200 with `len` bytes of JSON whitespace written from one 64 KiB buffer, announced by
    /// `Content-Length` or sent chunked; then close. Stops as soon as the client goes away.
    /// With `stall_after`, stops sending after that many bytes and holds the connection open.
    Stream {
        len: u64,
        chunked: bool,
        stall_after: Option<u64>,
    },
    /// A 200 with `Content-Length: len`, then one byte of `body` per second.
    Trickle { body: Vec<u8> },
    /// Reads the request and never answers; holds the connection until the client leaves.
    Silent,
}

impl Answer {
    /// A complete answer with `Content-Length`, `Connection: close`, and a content type.
    pub(crate) fn body(status: u16, content_type: &str, body: impl AsRef<[u8]>) -> Self {
        let body = body.as_ref();
        let mut raw = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            reason(status),
            body.len()
        )
        .into_bytes();
        raw.extend_from_slice(body);
        Self::Raw(raw)
    }

    /// A JSON answer.
    pub(crate) fn json(status: u16, body: impl AsRef<[u8]>) -> Self {
        Self::body(status, "application/json", body)
    }

    /// A redirect to `location`, with an empty body.
    pub(crate) fn redirect(status: u16, location: &str) -> Self {
        Self::Raw(
            format!(
                "HTTP/1.1 {status} {}\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                reason(status)
            )
            .into_bytes(),
        )
    }

    /// Headers that promise `promised` bytes, `sent` bytes of body, then the connection closes.
    pub(crate) fn cut_short(promised: usize, sent: &[u8]) -> Self {
        let mut raw = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {promised}\r\n\r\n"
        )
        .into_bytes();
        raw.extend_from_slice(sent);
        Self::Raw(raw)
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Whatever",
    }
}

/// One request the server read (method and path), or a TLS handshake it saw instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    /// An HTTP request: `METHOD /path`.
    Http(String),
    /// The first byte was 0x16: a TLS `ClientHello` (the client tried HTTPS).
    TlsHandshake,
}

/// What the server saw and did.
#[derive(Default)]
pub(crate) struct Stats {
    seen: Mutex<Vec<Seen>>,
    bodies: Mutex<Vec<Vec<u8>>>,
    body_bytes_written: AtomicU64,
    streams: AtomicUsize,
    handlers_running: AtomicUsize,
}

/// A server on `127.0.0.1:<random port>`; `route` picks the answer from the request path and
/// the server's own address.
pub(crate) struct Server {
    address: SocketAddr,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
}

type Route = dyn Fn(&str, SocketAddr) -> Answer + Send + Sync;

impl Server {
    pub(crate) fn start(
        route: impl Fn(&str, SocketAddr) -> Answer + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let stats = Arc::new(Stats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let route: Arc<Route> = Arc::new(route);
        {
            let stats = Arc::clone(&stats);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let stats = Arc::clone(&stats);
                    let route = Arc::clone(&route);
                    stats.handlers_running.fetch_add(1, Ordering::SeqCst);
                    thread::spawn(move || {
                        handle(stream, address, &*route, &stats);
                        stats.handlers_running.fetch_sub(1, Ordering::SeqCst);
                    });
                }
            });
        }
        Self {
            address,
            stats,
            stop,
        }
    }

    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn root(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Everything the server was asked, in order.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.stats.seen.lock().unwrap().clone()
    }

    /// The body of every request read, in order.
    pub(crate) fn request_bodies(&self) -> Vec<Vec<u8>> {
        self.stats.bodies.lock().unwrap().clone()
    }

    /// Body bytes the kernel accepted from the server, over every streamed answer: an upper
    /// bound of what the client read (the rest sat in socket buffers or was never sent).
    pub(crate) fn body_bytes_written(&self) -> u64 {
        self.stats.body_bytes_written.load(Ordering::SeqCst)
    }

    /// How many streamed answers were served.
    pub(crate) fn streams_served(&self) -> usize {
        self.stats.streams.load(Ordering::SeqCst)
    }

    /// Waits (at most `limit`) until every connection handler has finished.
    pub(crate) fn wait_idle(&self, limit: Duration) -> bool {
        let started = Instant::now();
        while self.stats.handlers_running.load(Ordering::SeqCst) > 0 {
            if started.elapsed() > limit {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
        true
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag and ends.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
    }
}

fn handle(mut stream: TcpStream, address: SocketAddr, route: &Route, stats: &Stats) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let Some(path) = read_request(&mut stream, stats) else {
        return;
    };
    match route(&path, address) {
        Answer::Raw(bytes) => {
            let _ = stream.write_all(&bytes);
            let _ = stream.flush();
            let _ = stream.shutdown(Shutdown::Write);
            drain(&mut stream);
        }
        Answer::Stream {
            len,
            chunked,
            stall_after,
        } => {
            stats.streams.fetch_add(1, Ordering::SeqCst);
            let sent = stall_after.map_or(len, |stall| stall.min(len));
            if stream_body(&mut stream, len, sent, chunked, stats) && sent < len {
                drain(&mut stream);
            }
        }
        Answer::Trickle { body } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            if stream.write_all(head.as_bytes()).is_err() {
                return;
            }
            for byte in body {
                if stream
                    .write_all(&[byte])
                    .and_then(|()| stream.flush())
                    .is_err()
                {
                    return;
                }
                thread::sleep(Duration::from_secs(1));
            }
        }
        Answer::Silent => drain(&mut stream),
    }
}

/// Reads until the client closes (or the I/O timeout), so that the connection stays open
/// for as long as the client wants it.
fn drain(stream: &mut TcpStream) {
    let mut sink = [0u8; 1024];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
}

/// Reads one request head and its body; records it and returns its path. `None` when the
/// client sent TLS or nothing usable.
fn read_request(stream: &mut TcpStream, stats: &Stats) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
        if head == [0x16] {
            stats.seen.lock().unwrap().push(Seen::TlsHandshake);
            return None;
        }
        if head.len() > 64 * 1024 {
            return None;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let length: usize = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length.min(1024 * 1024)];
    stream.read_exact(&mut body).ok()?;
    stats.bodies.lock().unwrap().push(body);
    stats
        .seen
        .lock()
        .unwrap()
        .push(Seen::Http(format!("{method} {path}")));
    Some(path)
}

/// Sends the head announcing `len` bytes, then `sent` of them; whether all were written.
fn stream_body(stream: &mut TcpStream, len: u64, sent: u64, chunked: bool, stats: &Stats) -> bool {
    let head = if chunked {
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_owned()
    } else {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n"
        )
    };
    if stream.write_all(head.as_bytes()).is_err() {
        return false;
    }
    let filler = vec![b' '; CHUNK];
    let mut left = sent;
    while left > 0 {
        let size = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
        if chunked
            && stream
                .write_all(format!("{size:x}\r\n").as_bytes())
                .is_err()
        {
            return false;
        }
        let mut chunk = &filler[..size];
        while !chunk.is_empty() {
            match stream.write(chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    stats
                        .body_bytes_written
                        .fetch_add(n as u64, Ordering::SeqCst);
                    chunk = &chunk[n..];
                }
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        if chunked && stream.write_all(b"\r\n").is_err() {
            return false;
        }
        left -= size as u64;
    }
    if chunked && sent == len {
        let _ = stream.write_all(b"0\r\n\r\n");
    }
    true
}
