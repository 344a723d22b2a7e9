//! A forgiving PEM reader (RFC 7468, plus what OpenSSL writes): several blocks, text between
//! them, CRLF line endings, RFC 1421 headers (`Proc-Type`, `DEK-Info`) before the body.

use base64ct::{Base64, Encoding};
use zeroize::Zeroizing;

use crate::Error;

/// One PEM block.
pub(crate) struct Block {
    /// The label, as in `-----BEGIN {label}-----`.
    pub(crate) label: String,
    /// The decoded body.
    pub(crate) der: Zeroizing<Vec<u8>>,
    /// The block has a `Proc-Type: 4,ENCRYPTED` header (OpenSSL's legacy encryption).
    pub(crate) encrypted: bool,
}

const BEGIN: &str = "-----BEGIN ";
const END: &str = "-----END ";
const DASHES: &str = "-----";

/// Every PEM block in `text`, in order.
pub(crate) fn blocks(text: &str) -> Result<Vec<Block>, Error> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix(BEGIN)
            .and_then(|rest| rest.strip_suffix(DASHES))
        else {
            continue;
        };
        if !valid_label(label) {
            return Err(Error::Pem {
                reason: "a BEGIN line has an invalid label",
            });
        }
        let mut body = Zeroizing::new(String::new());
        let mut encrypted = false;
        let mut ended = false;
        let mut in_headers = true;
        for line in lines.by_ref() {
            if let Some(end) = line
                .strip_prefix(END)
                .and_then(|rest| rest.strip_suffix(DASHES))
            {
                if end != label {
                    return Err(Error::Pem {
                        reason: "an END line does not match its BEGIN line",
                    });
                }
                ended = true;
                break;
            }
            if line.starts_with(BEGIN) {
                return Err(Error::Pem {
                    reason: "a block starts before the previous one ends",
                });
            }
            if in_headers && line.contains(':') {
                if line.starts_with("Proc-Type:") && line.contains("ENCRYPTED") {
                    encrypted = true;
                }
                continue;
            }
            in_headers = false;
            body.push_str(line);
        }
        if !ended {
            return Err(Error::Pem {
                reason: "a block has no END line",
            });
        }
        let der = Base64::decode_vec(&body).map_err(|_| Error::Pem {
            reason: "a block's body is not valid base64",
        })?;
        blocks.push(Block {
            label: label.to_owned(),
            der: Zeroizing::new(der),
            encrypted,
        });
    }
    Ok(blocks)
}

fn valid_label(label: &str) -> bool {
    label.len() <= 64 && label.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_blocks_with_noise_and_crlf() {
        let text = "Bag Attributes\r\n-----BEGIN EC PARAMETERS-----\r\nBgUrgQQAIg==\r\n-----END EC PARAMETERS-----\r\n\
                    -----BEGIN X-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES\n\nAAEC\nAw==\n-----END X-----\n";
        let blocks = blocks(text).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "EC PARAMETERS");
        assert!(!blocks[0].encrypted);
        assert_eq!(blocks[1].label, "X");
        assert!(blocks[1].encrypted);
        assert_eq!(blocks[1].der.as_slice(), &[0, 1, 2, 3]);
    }

    #[test]
    fn errors() {
        for (text, reason) in [
            ("-----BEGIN X-----\nAAAA\n", "no END"),
            (
                "-----BEGIN X-----\nAAAA\n-----END Y-----\n",
                "does not match",
            ),
            ("-----BEGIN X-----\n!!!!\n-----END X-----\n", "base64"),
            (
                "-----BEGIN X-----\n-----BEGIN Y-----\n-----END Y-----\n",
                "before",
            ),
            ("-----BEGIN X\u{7}-----\n-----END X-----", "label"),
        ] {
            let Err(Error::Pem { reason: found }) = blocks(text) else {
                panic!("{text:?} should fail");
            };
            assert!(found.contains(reason), "{found} / {reason}");
        }
        assert!(blocks("no pem here").unwrap().is_empty());
    }
}
