//! Job ids, stored compactly: most ids are `uuid4().hex` (what `add_job` makes when none is
//! given), kept as their 16 bytes instead of a 32-byte string on the heap (issue #2).

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// A job id. Equal ids have equal representations (32 lowercase hex digits are always
/// `Hex`), so the derived `Eq` and `Hash` agree with comparing the text.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum JobId {
    Hex([u8; 16]),
    Text(Arc<str>),
}

const DIGITS: &[u8; 16] = b"0123456789abcdef";

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl JobId {
    pub fn new(text: &str) -> Self {
        let b = text.as_bytes();
        if b.len() == 32 {
            let mut bytes = [0u8; 16];
            let parsed = (0..16).all(|i| match (nibble(b[2 * i]), nibble(b[2 * i + 1])) {
                (Some(hi), Some(lo)) => {
                    bytes[i] = hi << 4 | lo;
                    true
                }
                _ => false,
            });
            if parsed {
                return JobId::Hex(bytes);
            }
        }
        JobId::Text(Arc::from(text))
    }

    /// Calls `f` with the id's text (hex ids are spelled out on the stack).
    pub fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match self {
            JobId::Text(t) => f(t),
            JobId::Hex(bytes) => {
                let mut hex = [0u8; 32];
                for (i, b) in bytes.iter().enumerate() {
                    hex[2 * i] = DIGITS[(b >> 4) as usize];
                    hex[2 * i + 1] = DIGITS[(b & 0x0f) as usize];
                }
                // Only ASCII hex digits were written.
                f(std::str::from_utf8(&hex).unwrap_or_default())
            }
        }
    }

    pub fn to_arc(&self) -> Arc<str> {
        match self {
            JobId::Text(t) => t.clone(),
            JobId::Hex(_) => self.with_str(|s| Arc::from(s)),
        }
    }
}

impl From<&str> for JobId {
    fn from(text: &str) -> Self {
        JobId::new(text)
    }
}

/// Ordered as the text is (hex digits sort as their values do, so two hex ids compare
/// by their bytes).
impl Ord for JobId {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (JobId::Hex(a), JobId::Hex(b)) => a.cmp(b),
            (JobId::Text(a), JobId::Text(b)) => a.cmp(b),
            _ => self.with_str(|a| other.with_str(|b| a.cmp(b))),
        }
    }
}

impl PartialOrd for JobId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_str(|s| f.write_str(s))
    }
}

impl fmt::Debug for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_hex_is_compact_and_spelled_back() {
        let text = "0123456789abcdef0123456789abcdef";
        let id = JobId::new(text);
        assert!(matches!(id, JobId::Hex(_)));
        assert_eq!(id.to_string(), text);
        assert_eq!(&*id.to_arc(), text);
        for other in ["0123456789ABCDEF0123456789abcdef", "job-1", "0123", "0123456789abcdef0123456789abcdeg"] {
            assert!(matches!(JobId::new(other), JobId::Text(_)), "{other}");
            assert_eq!(JobId::new(other).to_string(), other);
        }
    }

    #[test]
    fn order_is_the_order_of_the_text() {
        let texts = [
            "",
            "0",
            "00000000000000000000000000000000",
            "00000000000000000000000000000001",
            "0000000000000000000000000000000g",
            "0f000000000000000000000000000000",
            "9fffffffffffffffffffffffffffffff",
            "A",
            "a0000000000000000000000000000000",
            "ab",
            "ffffffffffffffffffffffffffffffff",
            "zz",
        ];
        for a in texts {
            for b in texts {
                assert_eq!(JobId::new(a).cmp(&JobId::new(b)), a.cmp(b), "{a} vs {b}");
                assert_eq!(JobId::new(a) == JobId::new(b), a == b);
            }
        }
    }
}
