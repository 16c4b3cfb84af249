//! A pickle writer that emits, opcode for opcode, what CPython's `pickle.dumps` (protocol 4
//! and up) writes for the values it is given: one frame, strings, bytes, tuples and dicts
//! memoized as they are written, scalars not.
//!
//! It has no memo of its own: the caller knows which objects it writes twice (a class, a
//! zone) and refers back to them with [`Writer::get`], as CPython's pickler does for an
//! object it has seen. Used for job states (see `py/state_pickle.rs`), whose bytes tests
//! compare with `pickle.dumps` itself.

/// CPython starts a new frame once one reaches this size; a writer that stays below it needs
/// only the one frame.
pub const FRAME_SIZE_TARGET: usize = 64 * 1024;

/// CPython writes no frame around fewer bytes than this.
const FRAME_SIZE_MIN: usize = 4;

/// A memo index, as [`Writer::memoize`] hands them out.
pub type Memo = u32;

pub struct Writer {
    buf: Vec<u8>,
    memo: Memo,
}

/// Where the frame's 8-byte length goes, after `PROTO p` and the `FRAME` opcode.
const FRAME_LEN_AT: usize = 3;
const HEADER_LEN: usize = FRAME_LEN_AT + 8;

/// How CPython's pickler writes the `len` items of a non-empty dict: a single one with
/// `SETITEM` (`None` here); otherwise in batches of up to 1,000 (`MARK` .. `SETITEMS` each),
/// with one more, empty, batch after a full one.
pub fn dict_batches(len: usize) -> Option<Vec<std::ops::Range<usize>>> {
    const BATCH: usize = 1_000;
    if len == 1 {
        return None;
    }
    let mut batches = Vec::new();
    let mut next = 0;
    loop {
        let end = len.min(next + BATCH);
        batches.push(next..end);
        if end - next < BATCH {
            return Some(batches);
        }
        next = end;
    }
}

impl Writer {
    /// A pickle of `protocol` (4 or 5: the caller checks).
    pub fn new(protocol: u8) -> Self {
        let mut buf = Vec::with_capacity(512);
        buf.extend_from_slice(&[0x80, protocol, 0x95]);
        buf.extend_from_slice(&[0; 8]);
        Writer { buf, memo: 0 }
    }

    /// The pickle: `STOP` written and the frame's length filled in. `None` when the frame grew
    /// past the size at which CPython would have split it (the caller then uses `pickle`).
    pub fn finish(mut self) -> Option<Vec<u8>> {
        self.buf.push(b'.');
        let len = self.buf.len() - HEADER_LEN;
        if len >= FRAME_SIZE_TARGET {
            return None;
        }
        if len < FRAME_SIZE_MIN {
            self.buf.drain(FRAME_LEN_AT - 1..HEADER_LEN);
        } else {
            self.buf[FRAME_LEN_AT..HEADER_LEN].copy_from_slice(&(len as u64).to_le_bytes());
        }
        Some(self.buf)
    }

    /// `MEMOIZE`: the object on top of the stack gets the next memo index.
    pub fn memoize(&mut self) -> Memo {
        self.buf.push(0x94);
        self.memo += 1;
        self.memo - 1
    }

    /// `BINGET` / `LONG_BINGET`: the memoized object again.
    pub fn get(&mut self, memo: Memo) {
        match u8::try_from(memo) {
            Ok(m) => self.buf.extend_from_slice(&[b'h', m]),
            Err(_) => {
                self.buf.push(b'j');
                self.buf.extend_from_slice(&memo.to_le_bytes());
            }
        }
    }

    pub fn none(&mut self) {
        self.buf.push(b'N');
    }

    pub fn bool(&mut self, value: bool) {
        self.buf.push(if value { 0x88 } else { 0x89 });
    }

    /// An `int`: `BININT1`/`BININT2`/`BININT` within 32 bits, else `LONG1` with the fewest
    /// two's-complement bytes.
    pub fn int(&mut self, value: i64) {
        match value {
            0..=0xff => self.buf.extend_from_slice(&[b'K', value as u8]),
            0x100..=0xffff => {
                self.buf.push(b'M');
                self.buf.extend_from_slice(&(value as u16).to_le_bytes());
            }
            _ if i32::try_from(value).is_ok() => {
                self.buf.push(b'J');
                self.buf.extend_from_slice(&(value as i32).to_le_bytes());
            }
            _ => {
                let bytes = value.to_le_bytes();
                // The fewest bytes whose sign bit still gives the value's sign.
                let mut n = 8;
                while n > 1 && {
                    let (top, below) = (bytes[n - 1], bytes[n - 2]);
                    (top == 0 && below & 0x80 == 0) || (top == 0xff && below & 0x80 != 0)
                } {
                    n -= 1;
                }
                self.buf.extend_from_slice(&[0x8a, n as u8]);
                self.buf.extend_from_slice(&bytes[..n]);
            }
        }
    }

    pub fn float(&mut self, value: f64) {
        self.buf.push(b'G');
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    /// A `str`, memoized.
    pub fn str(&mut self, value: &str) -> Memo {
        self.counted([0x8c, b'X'], value.as_bytes())
    }

    /// A `bytes`, memoized.
    pub fn bytes(&mut self, value: &[u8]) -> Memo {
        self.counted([b'C', b'B'], value)
    }

    /// `value` after its length: a one-byte length with the short opcode, else four bytes.
    fn counted(&mut self, [short, long]: [u8; 2], value: &[u8]) -> Memo {
        match u8::try_from(value.len()) {
            Ok(n) => self.buf.extend_from_slice(&[short, n]),
            Err(_) => {
                self.buf.push(long);
                self.buf.extend_from_slice(&(value.len() as u32).to_le_bytes());
            }
        }
        self.buf.extend_from_slice(value);
        self.memoize()
    }

    /// `STACK_GLOBAL` of the two strings on the stack, memoized.
    pub fn stack_global(&mut self) -> Memo {
        self.buf.push(0x93);
        self.memoize()
    }

    pub fn empty_tuple(&mut self) {
        self.buf.push(b')');
    }

    pub fn mark(&mut self) {
        self.buf.push(b'(');
    }

    /// The tuple of the last `len` items written (after a [`Self::mark`] when `len` > 3),
    /// memoized. An empty tuple is [`Self::empty_tuple`].
    pub fn tuple(&mut self, len: usize) -> Memo {
        self.buf.push(match len {
            1 => 0x85,
            2 => 0x86,
            3 => 0x87,
            _ => b't',
        });
        self.memoize()
    }

    /// A new list, memoized (items go in with [`Self::append`] or [`Self::appends`]).
    pub fn empty_list(&mut self) -> Memo {
        self.buf.push(b']');
        self.memoize()
    }

    /// `APPEND`: one item into the list below it.
    pub fn append(&mut self) {
        self.buf.push(b'a');
    }

    /// `APPENDS`: the items since the last mark into the list below it.
    pub fn appends(&mut self) {
        self.buf.push(b'e');
    }

    /// A new dict, memoized (items go in with [`Self::setitem`] or [`Self::setitems`]).
    pub fn empty_dict(&mut self) -> Memo {
        self.buf.push(b'}');
        self.memoize()
    }

    /// `SETITEM`: one key and value into the dict below them.
    pub fn setitem(&mut self) {
        self.buf.push(b's');
    }

    /// `SETITEMS`: the keys and values since the last mark into the dict below it.
    pub fn setitems(&mut self) {
        self.buf.push(b'u');
    }

    /// `REDUCE` (callable and argument tuple on the stack), memoized.
    pub fn reduce(&mut self) -> Memo {
        self.buf.push(b'R');
        self.memoize()
    }

    /// `NEWOBJ` (class and argument tuple on the stack), memoized.
    pub fn new_obj(&mut self) -> Memo {
        self.buf.push(0x81);
        self.memoize()
    }

    /// `BUILD`: the state on top is applied to the object below it.
    pub fn build(&mut self) {
        self.buf.push(b'b');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The opcodes after `PROTO` and the frame header, if any.
    fn body(w: Writer) -> Vec<u8> {
        let pickle = w.finish().unwrap();
        pickle[if pickle[2] == 0x95 { HEADER_LEN } else { 2 }..].to_vec()
    }

    #[test]
    fn ints_take_cpythons_opcodes() {
        // (The expected bytes are what `pickle.dumps(value, 5)` gives.)
        let cases: [(i64, &[u8]); 12] = [
            (0, b"K\x00"),
            (255, b"K\xff"),
            (256, b"M\x00\x01"),
            (-5, b"J\xfb\xff\xff\xff"),
            (-(1 << 31), b"J\x00\x00\x00\x80"),
            (1 << 31, b"\x8a\x05\x00\x00\x00\x80\x00"),
            (-(1 << 31) - 1, b"\x8a\x05\xff\xff\xff\x7f\xff"),
            (-(1 << 32), b"\x8a\x05\x00\x00\x00\x00\xff"),
            ((1 << 32) - 1, b"\x8a\x05\xff\xff\xff\xff\x00"),
            (-(1 << 40), b"\x8a\x06\x00\x00\x00\x00\x00\xff"),
            (i64::MAX, b"\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f"),
            (i64::MIN, b"\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80"),
        ];
        for (value, expected) in cases {
            let mut w = Writer::new(5);
            w.int(value);
            assert_eq!(body(w), [expected, b"."].concat(), "{value}");
        }
    }

    #[test]
    fn the_frame_holds_everything_after_its_header() {
        let mut w = Writer::new(4);
        assert_eq!(w.str("ab"), 0);
        w.get(0);
        assert_eq!(w.finish().unwrap(), b"\x80\x04\x95\x08\x00\x00\x00\x00\x00\x00\x00\x8c\x02ab\x94h\x00.");
    }

    #[test]
    fn dict_items_are_batched_as_cpython_batches_them() {
        assert_eq!(dict_batches(1), None);
        let all = 0..2;
        assert_eq!(dict_batches(2), Some(vec![all]));
        assert_eq!(dict_batches(1_000), Some(vec![0..1_000, 1_000..1_000]));
        assert_eq!(dict_batches(1_001), Some(vec![0..1_000, 1_000..1_001]));
    }

    #[test]
    fn a_tiny_pickle_has_no_frame() {
        let mut w = Writer::new(5);
        w.empty_dict();
        assert_eq!(w.finish().unwrap(), b"\x80\x05}\x94.");
    }

    #[test]
    fn a_pickle_past_one_frame_is_refused() {
        let mut w = Writer::new(5);
        w.bytes(&vec![0; FRAME_SIZE_TARGET]);
        assert!(w.finish().is_none());
    }
}
