//! A token store on a Redis server, shared by every instance of an app.

use core::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use smart_core::Secret;

use super::{BlockingStore, CasOutcome, Lease, StoreFuture, TokenStore, Versioned};
use crate::error::StoreError;

/// Compare-and-swap: the version check, the fencing check and the write in one step.
const CAS: &str = r"
local current = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == '' then
  if current then return {0, current} end
elseif current ~= ARGV[1] then
  return {0, current or ''}
end
if ARGV[3] ~= '' then
  local highest = redis.call('GET', KEYS[2])
  if highest and tonumber(highest) > tonumber(ARGV[3]) then return {-1, ''} end
end
local version = redis.call('INCR', KEYS[3])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', version, 'd', ARGV[2])
if ARGV[4] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return {1, tostring(version)}
";

const DELETE: &str = r"
local current = redis.call('HGET', KEYS[1], 'v')
if not current then return 0 end
if ARGV[1] ~= '' and current ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
";

/// The lease: `SET NX PX`, then the fencing value from a counter that only grows.
const ACQUIRE: &str = r"
if redis.call('SET', KEYS[1], '0', 'NX', 'PX', ARGV[1]) then
  local fence = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], fence, 'PX', ARGV[1])
  return fence
end
return 0
";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";

/// A [`TokenStore`] on Redis (feature `redis`), through the `redis` crate's
/// [`ConnectionManager`] (it reconnects after the server restarts).
///
/// Keys are namespaced: `{namespace}:v:{key}` (a hash of the version and the value),
/// `{namespace}:lease:{key}` (the lease, `SET NX PX` holding its fencing value),
/// `{namespace}:fence:{key}` (the highest fencing value granted) and `{namespace}:seq` (the
/// version counter). Compare-and-swap, deletes and leases are Lua scripts, each atomic on the
/// server. See the crate's multi-instance page for what it guarantees.
///
/// Calls fail with [`StoreError::Unavailable`] while the server is unreachable; the
/// connection is made again on the next calls.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    namespace: String,
    scripts: Arc<Scripts>,
}

struct Scripts {
    cas: Script,
    delete: Script,
    acquire: Script,
    release: Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

fn unavailable(error: redis::RedisError) -> StoreError {
    StoreError::unavailable("redis", error)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

impl RedisStore {
    /// Connects to the Redis server at `url` (`redis://127.0.0.1:6379/0`, `rediss://` for
    /// TLS with the `redis` crate's TLS features); keys go under `namespace`. Must be called
    /// within a Tokio runtime, which then drives the connection.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the URL is invalid or the server cannot be reached.
    pub async fn connect(url: &str, namespace: impl Into<String>) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(200));
        let connection = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(unavailable)?;
        Ok(Self {
            connection,
            namespace: namespace.into(),
            scripts: Arc::new(Scripts {
                cas: Script::new(CAS),
                delete: Script::new(DELETE),
                acquire: Script::new(ACQUIRE),
                release: Script::new(RELEASE),
            }),
        })
    }

    /// As [`connect`](Self::connect), for blocking code: the store comes with a small Tokio
    /// runtime of its own (one worker thread) that drives the connection.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect), and [`StoreError::Unavailable`] when the runtime cannot
    /// start.
    pub fn connect_blocking(
        url: &str,
        namespace: impl Into<String>,
    ) -> Result<BlockingStore, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("smart-session-redis")
            .enable_all()
            .build()
            .map_err(|error| StoreError::unavailable("redis", error))?;
        let store = runtime.block_on(Self::connect(url, namespace))?;
        Ok(BlockingStore::owning(Arc::new(store), runtime))
    }

    fn name(&self, kind: &str, key: &str) -> String {
        format!("{}:{kind}:{key}", self.namespace)
    }
}

impl TokenStore for RedisStore {
    fn load<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Versioned>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let (version, value): (Option<u64>, Option<Vec<u8>>) = redis::cmd("HMGET")
                .arg(self.name("v", key))
                .arg("v")
                .arg("d")
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            Ok(match (version, value) {
                (Some(version), Some(value)) => Some(Versioned {
                    value: Secret::new(value),
                    version,
                }),
                _ => None,
            })
        })
    }

    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<u64>,
        value: &'a [u8],
        fence: Option<u64>,
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, CasOutcome> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let text = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
            let (status, version): (i64, String) = self
                .scripts
                .cas
                .key(self.name("v", key))
                .key(self.name("fence", key))
                .key(format!("{}:seq", self.namespace))
                .arg(text(expected))
                .arg(value)
                .arg(text(fence))
                .arg(text(ttl.map(millis)))
                .invoke_async(&mut connection)
                .await
                .map_err(unavailable)?;
            let number = || {
                version.parse::<u64>().map_err(|_| StoreError::Corrupt {
                    reason: "the stored version is not a number".to_owned(),
                })
            };
            Ok(match status {
                1 => CasOutcome::Swapped { version: number()? },
                -1 => CasOutcome::Fenced,
                _ if version.is_empty() => CasOutcome::Conflict { current: None },
                _ => CasOutcome::Conflict {
                    current: Some(number()?),
                },
            })
        })
    }

    fn delete<'a>(&'a self, key: &'a str, expected: Option<u64>) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let deleted: i64 = self
                .scripts
                .delete
                .key(self.name("v", key))
                .arg(expected.map(|n| n.to_string()).unwrap_or_default())
                .invoke_async(&mut connection)
                .await
                .map_err(unavailable)?;
            Ok(deleted == 1)
        })
    }

    fn acquire_lease<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, Option<Lease>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let fence: u64 = self
                .scripts
                .acquire
                .key(self.name("lease", key))
                .key(self.name("fence", key))
                .arg(millis(ttl))
                .invoke_async(&mut connection)
                .await
                .map_err(unavailable)?;
            Ok((fence > 0).then(|| Lease {
                key: key.to_owned(),
                fence,
                ttl,
            }))
        })
    }

    fn release_lease<'a>(&'a self, lease: &'a Lease) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let released: i64 = self
                .scripts
                .release
                .key(self.name("lease", &lease.key))
                .arg(lease.fence)
                .invoke_async(&mut connection)
                .await
                .map_err(unavailable)?;
            Ok(released == 1)
        })
    }
}
