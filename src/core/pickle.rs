//! A small reader for the pickles the job stores hold (protocols 2 to 5).
//!
//! It runs the pickle machine without creating any Python object: the result is a tree of
//! [`Value`]s in an arena, shared sub-trees (memo references) being the same node. Calls
//! (`REDUCE`, `NEWOBJ`, `BUILD`) are kept as descriptions, so the caller decides which shapes
//! it understands; anything this reader does not know (other opcodes, malformed input) is an
//! error, and the caller then falls back to Python's own `pickle`.

/// Index of a node in [`Pickle::nodes`].
pub type Id = u32;

/// Children of a container node: a range of [`Pickle::kids`] (a dict's are key, value, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    start: u32,
    len: u32,
}

/// One node. Strings and bytes borrow from the pickle's bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
    Tuple(Span),
    List(Span),
    Dict(Span),
    /// `module`, `name` of a global (class or function).
    Global(&'a str, &'a str),
    /// `callable(*args)` (`REDUCE`).
    Call(Id, Id),
    /// `cls.__new__(cls, *args)` (`NEWOBJ`).
    New(Id, Id),
    /// An object (`New`) with its `__setstate__` states applied in order (`BUILD`).
    Built(Id, Span),
}

#[derive(Debug, Default)]
pub struct Pickle<'a> {
    pub nodes: Vec<Value<'a>>,
    pub kids: Vec<Id>,
    pub root: Id,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Unsupported(pub &'static str);

type R<T> = Result<T, Unsupported>;

impl<'a> Pickle<'a> {
    pub fn get(&self, id: Id) -> Value<'a> {
        self.nodes[id as usize]
    }

    /// The children of a container node.
    pub fn items(&self, span: Span) -> &[Id] {
        &self.kids[span.start as usize..(span.start + span.len) as usize]
    }

    /// The string in node `id`, if it is one.
    pub fn str(&self, id: Id) -> Option<&'a str> {
        match self.get(id) {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Value of `key` in the dict node `dict` (string keys; the last one wins, as in Python).
    pub fn dict_get(&self, dict: Id, key: &str) -> Option<Id> {
        match self.get(dict) {
            Value::Dict(span) => {
                self.items(span).chunks_exact(2).rev().find(|kv| self.str(kv[0]) == Some(key)).map(|kv| kv[1])
            }
            _ => None,
        }
    }

    /// Whether `id` is the global `module.name`.
    pub fn is_global(&self, id: Id, module: &str, name: &str) -> bool {
        matches!(self.get(id), Value::Global(m, n) if m == module && n == name)
    }

    /// Items of a tuple node.
    pub fn tuple(&self, id: Id) -> Option<&[Id]> {
        match self.get(id) {
            Value::Tuple(span) => Some(self.items(span)),
            _ => None,
        }
    }
}

enum Slot {
    Mark,
    Node(Id),
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    nodes: Vec<Value<'a>>,
    kids: Vec<Id>,
    stack: Vec<Slot>,
    memo: Vec<Option<Id>>,
}

impl<'a> Machine<'a> {
    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.data.len()).ok_or(Unsupported("truncated"))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> R<u16> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap_or_default()))
    }
    fn u32(&mut self) -> R<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap_or_default()))
    }
    fn u64(&mut self) -> R<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap_or_default()))
    }
    fn line(&mut self) -> R<&'a str> {
        let rest = &self.data[self.pos..];
        let n = rest.iter().position(|b| *b == b'\n').ok_or(Unsupported("unterminated line"))?;
        let s = std::str::from_utf8(&rest[..n]).map_err(|_| Unsupported("non-utf8 line"))?;
        self.pos += n + 1;
        Ok(s)
    }

    fn push(&mut self, v: Value<'a>) -> R<()> {
        if self.nodes.len() >= u32::MAX as usize {
            return Err(Unsupported("too large"));
        }
        self.nodes.push(v);
        self.stack.push(Slot::Node((self.nodes.len() - 1) as Id));
        Ok(())
    }
    fn pop(&mut self) -> R<Id> {
        match self.stack.pop() {
            Some(Slot::Node(id)) => Ok(id),
            _ => Err(Unsupported("stack underflow")),
        }
    }
    fn top(&self) -> R<Id> {
        match self.stack.last() {
            Some(Slot::Node(id)) => Ok(*id),
            _ => Err(Unsupported("stack underflow")),
        }
    }
    /// Everything above the topmost mark, which is removed.
    fn pop_mark(&mut self) -> R<Vec<Id>> {
        let at = self.stack.iter().rposition(|s| matches!(s, Slot::Mark)).ok_or(Unsupported("no mark"))?;
        let items = self.stack.split_off(at + 1);
        self.stack.pop();
        items.into_iter().map(|s| if let Slot::Node(id) = s { Ok(id) } else { Err(Unsupported("mark")) }).collect()
    }
    fn str(&mut self, n: usize) -> R<()> {
        let s = std::str::from_utf8(self.take(n)?).map_err(|_| Unsupported("bad utf-8"))?;
        self.push(Value::Str(s))
    }
    fn bytes(&mut self, n: usize) -> R<()> {
        let b = self.take(n)?;
        self.push(Value::Bytes(b))
    }
    /// A new span holding `items`.
    fn span(&mut self, items: &[Id]) -> R<Span> {
        let start = u32::try_from(self.kids.len()).map_err(|_| Unsupported("too large"))?;
        self.kids.extend_from_slice(items);
        Ok(Span { start, len: items.len() as u32 })
    }
    /// `span` with `items` appended (moved to the end of the arena unless it is there already).
    fn extend(&mut self, span: Span, items: &[Id]) -> R<Span> {
        let (start, len) = (span.start as usize, span.len as usize);
        if start + len == self.kids.len() {
            self.kids.extend_from_slice(items);
            return Ok(Span { start: span.start, len: span.len + items.len() as u32 });
        }
        let new_start = u32::try_from(self.kids.len()).map_err(|_| Unsupported("too large"))?;
        self.kids.extend_from_within(start..start + len);
        self.kids.extend_from_slice(items);
        Ok(Span { start: new_start, len: span.len + items.len() as u32 })
    }
    fn memo_put(&mut self, at: usize) -> R<()> {
        let id = self.top()?;
        if at > 1 << 24 {
            return Err(Unsupported("memo index"));
        }
        if self.memo.len() <= at {
            self.memo.resize(at + 1, None);
        }
        self.memo[at] = Some(id);
        Ok(())
    }
    fn memo_get(&mut self, at: usize) -> R<()> {
        let id = self.memo.get(at).copied().flatten().ok_or(Unsupported("memo miss"))?;
        self.stack.push(Slot::Node(id));
        Ok(())
    }
    fn tuple(&mut self, n: usize) -> R<()> {
        let mut items = [0 as Id; 3];
        for i in (0..n).rev() {
            items[i] = self.pop()?;
        }
        let span = self.span(&items[..n])?;
        self.push(Value::Tuple(span))
    }
    fn set_items(&mut self, dict: Id, items: &[Id]) -> R<()> {
        if !items.len().is_multiple_of(2) {
            return Err(Unsupported("odd setitems"));
        }
        match self.nodes[dict as usize] {
            Value::Dict(span) => {
                let span = self.extend(span, items)?;
                self.nodes[dict as usize] = Value::Dict(span);
                Ok(())
            }
            _ => Err(Unsupported("setitems on a non-dict")),
        }
    }
    fn append(&mut self, list: Id, items: &[Id]) -> R<()> {
        match self.nodes[list as usize] {
            Value::List(span) => {
                let span = self.extend(span, items)?;
                self.nodes[list as usize] = Value::List(span);
                Ok(())
            }
            _ => Err(Unsupported("append to a non-list")),
        }
    }
    fn long(&mut self, n: usize) -> R<()> {
        let b = self.take(n)?;
        if n > 8 {
            return Err(Unsupported("long integer"));
        }
        let mut buf = if b.last().is_some_and(|x| x & 0x80 != 0) { [0xffu8; 8] } else { [0u8; 8] };
        buf[..n].copy_from_slice(b);
        self.push(Value::Int(i64::from_le_bytes(buf)))
    }

    fn run(mut self) -> R<Pickle<'a>> {
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    let proto = self.u8()?;
                    if !(2..=5).contains(&proto) {
                        return Err(Unsupported("protocol"));
                    }
                }
                0x95 => {
                    self.u64()?; // FRAME: the frame is simply the following bytes
                }
                b'.' => {
                    let root = self.pop()?;
                    if !self.stack.is_empty() || self.pos != self.data.len() {
                        return Err(Unsupported("trailing data"));
                    }
                    return Ok(Pickle { nodes: self.nodes, kids: self.kids, root });
                }
                b'(' => self.stack.push(Slot::Mark),
                b'}' => self.push(Value::Dict(Span::default()))?,
                b']' => self.push(Value::List(Span::default()))?,
                b')' => self.push(Value::Tuple(Span::default()))?,
                0x85 => self.tuple(1)?,
                0x86 => self.tuple(2)?,
                0x87 => self.tuple(3)?,
                b't' => {
                    let items = self.pop_mark()?;
                    let span = self.span(&items)?;
                    self.push(Value::Tuple(span))?;
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    let span = self.span(&items)?;
                    self.push(Value::List(span))?;
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    self.push(Value::Dict(Span::default()))?;
                    let d = self.top()?;
                    self.set_items(d, &items)?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let d = self.top()?;
                    self.set_items(d, &[k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let d = self.top()?;
                    self.set_items(d, &items)?;
                }
                b'a' => {
                    let v = self.pop()?;
                    let l = self.top()?;
                    self.append(l, &[v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let l = self.top()?;
                    self.append(l, &items)?;
                }
                b'N' => self.push(Value::None)?,
                0x88 => self.push(Value::Bool(true))?,
                0x89 => self.push(Value::Bool(false))?,
                b'K' => {
                    let v = self.u8()?;
                    self.push(Value::Int(v.into()))?;
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push(Value::Int(v.into()))?;
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Value::Int(v.into()))?;
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    self.long(n)?;
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.take(8)?.try_into().unwrap_or_default());
                    self.push(Value::Float(v))?;
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    self.str(n)?;
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    self.str(n)?;
                }
                0x8d => {
                    let n = usize::try_from(self.u64()?).map_err(|_| Unsupported("size"))?;
                    self.str(n)?;
                }
                b'C' => {
                    let n = self.u8()? as usize;
                    self.bytes(n)?;
                }
                b'B' => {
                    let n = self.u32()? as usize;
                    self.bytes(n)?;
                }
                0x8e => {
                    let n = usize::try_from(self.u64()?).map_err(|_| Unsupported("size"))?;
                    self.bytes(n)?;
                }
                0x94 => {
                    let at = self.memo.len();
                    self.memo_put(at)?;
                }
                b'q' => {
                    let at = self.u8()? as usize;
                    self.memo_put(at)?;
                }
                b'r' => {
                    let at = self.u32()? as usize;
                    self.memo_put(at)?;
                }
                b'h' => {
                    let at = self.u8()? as usize;
                    self.memo_get(at)?;
                }
                b'j' => {
                    let at = self.u32()? as usize;
                    self.memo_get(at)?;
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.push(Value::Global(module, name))?;
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Value::Str(m), Value::Str(n)) = (self.nodes[module as usize], self.nodes[name as usize])
                    else {
                        return Err(Unsupported("stack_global"));
                    };
                    self.push(Value::Global(m, n))?;
                }
                b'R' => {
                    let args = self.pop()?;
                    let f = self.pop()?;
                    self.push(Value::Call(f, args))?;
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    self.push(Value::New(cls, args))?;
                }
                b'b' => {
                    let state = self.pop()?;
                    let obj = self.top()?;
                    match self.nodes[obj as usize] {
                        new @ Value::New(..) => {
                            // The object node keeps its id (memo references stay valid).
                            let inner = self.nodes.len() as Id;
                            self.nodes.push(new);
                            let states = self.span(&[state])?;
                            self.nodes[obj as usize] = Value::Built(inner, states);
                        }
                        Value::Built(inner, states) => {
                            let states = self.extend(states, &[state])?;
                            self.nodes[obj as usize] = Value::Built(inner, states);
                        }
                        _ => return Err(Unsupported("build")),
                    }
                }
                _ => return Err(Unsupported("opcode")),
            }
        }
    }
}

/// Reads one pickle.
pub fn parse(data: &[u8]) -> Result<Pickle<'_>, Unsupported> {
    let m = Machine {
        data,
        pos: 0,
        nodes: Vec::with_capacity(64),
        kids: Vec::with_capacity(64),
        stack: Vec::with_capacity(32),
        memo: Vec::with_capacity(64),
    };
    m.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pickle.dumps({'a': (1, 'x'), 'b': [None, True, 2.5], 'c': b'\x01'}, 5)`
    const SIMPLE: &[u8] = b"\x80\x05\x95+\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94K\x01\x8c\x01x\x94\x86\x94\x8c\x01b\x94]\x94(N\x88G@\x04\x00\x00\x00\x00\x00\x00e\x8c\x01c\x94C\x01\x01\x94u.";

    #[test]
    fn reads_plain_containers() {
        let p = parse(SIMPLE).unwrap();
        let a = p.dict_get(p.root, "a").unwrap();
        let items = p.tuple(a).unwrap();
        assert_eq!(p.get(items[0]), Value::Int(1));
        assert_eq!(p.str(items[1]), Some("x"));
        let b = p.dict_get(p.root, "b").unwrap();
        let Value::List(l) = p.get(b) else { panic!() };
        assert_eq!(
            p.items(l).iter().map(|i| p.get(*i)).collect::<Vec<_>>(),
            [Value::None, Value::Bool(true), Value::Float(2.5)]
        );
        assert_eq!(p.get(p.dict_get(p.root, "c").unwrap()), Value::Bytes(b"\x01"));
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        assert!(parse(b"").is_err());
        assert!(parse(b"\x80\x05}").is_err());
        assert!(parse(&SIMPLE[..SIMPLE.len() - 1]).is_err());
        assert!(parse(b"\x80\x05\xff.").is_err());
        assert!(parse(b"\x80\x05h\x07.").is_err());
    }

    #[test]
    fn reads_globals_calls_and_builds() {
        // datetime.timedelta(0, 900, 0) and an object built from a dict state.
        let data = b"\x80\x04\x8c\x08datetime\x94\x8c\ttimedelta\x94\x93\x94K\x00M\x84\x03K\x00\x87\x94R\x94.";
        let p = parse(data).unwrap();
        let Value::Call(f, args) = p.get(p.root) else { panic!() };
        assert!(p.is_global(f, "datetime", "timedelta"));
        assert_eq!(
            p.tuple(args).unwrap().iter().map(|i| p.get(*i)).collect::<Vec<_>>(),
            [Value::Int(0), Value::Int(900), Value::Int(0)]
        );
        let data = b"\x80\x02cm\nK\n)\x81}U\x01aK\x01sb.";
        // 'U' (SHORT_BINSTRING) is not supported: falls back.
        assert!(parse(data).is_err());
        let data = b"\x80\x02cm\nK\n)\x81}\x8c\x01aK\x01sb.";
        let p = parse(data).unwrap();
        let Value::Built(obj, states) = p.get(p.root) else { panic!() };
        let Value::New(cls, _) = p.get(obj) else { panic!() };
        assert!(p.is_global(cls, "m", "K"));
        assert_eq!(p.get(p.dict_get(p.items(states)[0], "a").unwrap()), Value::Int(1));
    }
}
