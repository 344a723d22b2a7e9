use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// A value that must not leak: zeroized on drop, redacted in `Debug`, no `Display`.
///
/// The value is read only through [`Secret::expose_secret`], one greppable name for every place
/// a secret leaves its wrapper. There is deliberately no `PartialEq`: compare secrets with
/// [`ct_eq`] where a comparison is really needed.
///
/// ```
/// use smart_core::Secret;
///
/// let token = Secret::new(String::from("eyJhbGciOi..."));
/// assert_eq!(format!("{token:?}"), "Secret([redacted])");
/// assert_eq!(token.expose_secret(), "eyJhbGciOi...");
/// ```
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    /// Wraps a value.
    #[must_use]
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Returns the secret value.
    ///
    /// # Security
    ///
    /// Whatever the caller does with the returned reference is outside this wrapper's care:
    /// do not log it, put it in an error message, or format it with `Debug`.
    #[must_use]
    pub fn expose_secret(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize + Clone> Clone for Secret<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Compares two byte strings in time that depends only on their lengths.
///
/// Use it for `state`, PKCE verifiers and any other value an attacker may try to guess byte by
/// byte. Inputs of different lengths compare unequal (the lengths are not secret).
#[must_use]
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Declares a named secret string: zeroized on drop, `Name([redacted])` in `Debug`, no
/// `Display`, no `PartialEq`, read through `expose_secret()`.
///
/// Attributes written before `struct` are applied, so `#[derive(Clone)]` makes a copyable
/// secret; leave it out for one-shot values.
///
/// ```
/// smart_core::secret_string! {
///     /// A refresh token.
///     #[derive(Clone)]
///     pub struct RefreshToken;
/// }
///
/// let token = RefreshToken::new("tGzv3JOkF0XG5Qx2TlKWIA");
/// assert_eq!(format!("{token:?}"), "RefreshToken([redacted])");
/// assert_eq!(token.clone().expose_secret(), "tGzv3JOkF0XG5Qx2TlKWIA");
/// ```
#[macro_export]
macro_rules! secret_string {
    ($(#[$meta:meta])* $vis:vis struct $name:ident;) => {
        $(#[$meta])*
        $vis struct $name($crate::Secret<::std::string::String>);

        impl $name {
            /// Wraps a secret string.
            #[must_use]
            $vis fn new(value: impl ::core::convert::Into<::std::string::String>) -> Self {
                Self($crate::Secret::new(value.into()))
            }

            /// Returns the secret value.
            ///
            /// # Security
            ///
            /// Do not log the returned string, put it in an error, or format it with `Debug`.
            #[must_use]
            $vis fn expose_secret(&self) -> &str {
                self.0.expose_secret().as_str()
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::secret_string! {
        /// A test secret.
        pub(crate) struct Password;
    }

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::new(String::from("hunter2"));
        let rendered = format!("{secret:?} {secret:#?}");
        assert!(!rendered.contains("hunter2"), "{rendered}");
        let password = Password::new("hunter2");
        assert_eq!(format!("{password:?}"), "Password([redacted])");
        assert_eq!(password.expose_secret(), "hunter2");
    }

    #[test]
    fn constant_time_comparison() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert!(ct_eq(b"", b""));
    }
}
